//! The real `oblique` binary as a child process: its help, `serve` on the embedded PostgreSQL
//! across a restart, the token commands, and JSON logs. Every child is killed by a guard, and
//! an embedded PostgreSQL it leaves behind is stopped, so a failing test leaves nothing running.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use oblique::db::embedded::EmbeddedPostgres;
use oblique::pb::{ListIntegrationTypesRequest, ListIntegrationsRequest};
use tonic::Code;
use tonic::transport::Channel;

use crate::harness::remote::READER_PASSWORD;
use crate::harness::servers::{create_test_database, drop_test_database};
use crate::harness::{Clients, create_request, expect_code};

/// Bound on a server getting ready (initdb with fsync on a busy machine is slow) or exiting.
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

/// Configuration of the test process that must not leak into the binary.
const CLEARED_ENV: &str = "DATABASE_URL TEST_DATABASE_URL OBLIQUE_DATA_DIR OBLIQUE_SECRET_KEY \
                           OBLIQUE_LOG_FORMAT OBLIQUE_LISTEN OBLIQUE_METRICS_LISTEN RUST_LOG";

/// The binary on `data_dir` (always one of the test's: the default .oblique would land in the
/// source tree), with none of the test's own configuration.
pub(crate) fn oblique(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oblique"));
    CLEARED_ENV.split_whitespace().for_each(|var| {
        cmd.env_remove(var);
    });
    cmd.arg("--data-dir").arg(data_dir).stdin(Stdio::null());
    cmd
}

/// `<tmp>/data` under a 0755 temporary directory in /tmp, which the `postgres` OS user can
/// traverse; the binary creates `data` itself. Stops an embedded PostgreSQL left running in it.
pub(crate) struct DataDir(tempfile::TempDir);

impl DataDir {
    pub(crate) fn new() -> DataDir {
        let dir = tempfile::Builder::new()
            .prefix("oblique-it-serve-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        DataDir(dir)
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.0.path().join("data")
    }

    fn postmaster_pid(&self) -> PathBuf {
        self.path().join("pg/data/postmaster.pid")
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.postmaster_pid().exists()
            && let Ok(mut pg) = EmbeddedPostgres::start(&self.path().join("pg"))
        {
            pg.take_ownership();
            let _ = pg.stop();
        }
    }
}

/// A running `oblique serve`, its stderr in a file; killed on drop unless it already exited.
pub(crate) struct Server {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Server {
    pub(crate) fn start(mut cmd: Command, log: PathBuf) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawning oblique serve");
        Server { child, log, port }
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One step of a bounded wait for `what`: panics, with the log, once the server exited or
    /// the deadline passed.
    pub(crate) async fn tick(&mut self, what: &str, deadline: Instant) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!(
                "oblique exited ({status}) while {what}; log:\n{}",
                self.log_text()
            );
        }
        if Instant::now() >= deadline {
            panic!("no {what} after {DEADLINE:?}; log:\n{}", self.log_text());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// A new channel (an HTTP/2 connection of its own, made at its first call) to the server.
    pub(crate) fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://127.0.0.1:{}", self.port))
            .expect("uri")
            .connect_lazy()
    }

    /// Clients with `token`, once a call with it succeeds.
    pub(crate) async fn ready_clients(&mut self, token: &str) -> Clients {
        let clients = Clients::new(self.channel(), Some(token.to_string()));
        let deadline = Instant::now() + DEADLINE;
        let mut probe = clients.integrations.clone();
        while probe
            .list_integration_types(ListIntegrationTypesRequest {})
            .await
            .is_err()
        {
            self.tick("successful call", deadline).await;
        }
        clients
    }

    /// SIGKILL, as a crash or the OOM killer would: nothing of the process runs after it.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaping the killed server");
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub(crate) async fn terminate(&mut self) -> ExitStatus {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: kill has no memory-safety preconditions; the pid is our unreaped child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "kill");
        self.wait_for_exit("SIGTERM").await
    }

    /// Waits (bounded) for the server to exit of its own accord, after `why`.
    pub(crate) async fn wait_for_exit(&mut self, why: &str) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "still running {DEADLINE:?} after {why}; log:\n{}",
            self.log_text()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The token in `path` once the file is completely written (it ends with a newline).
pub(crate) async fn wait_for_token(server: &mut Server, path: &Path) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text.trim().to_string();
        }
        server.tick("admin token file", deadline).await;
    }
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_fails(output: &Output, stderr_mentions: &[&str]) {
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure; stderr: {stderr}"
    );
    for word in stderr_mentions {
        assert!(stderr.contains(word), "stderr lacks {word:?}: {stderr}");
    }
}

#[test]
fn help_describes_the_flags_and_environment() {
    let data = DataDir::new();
    let cases: [(&[&str], &str); 2] = [
        (
            &["--help"],
            "serve token DATABASE_URL --data-dir --log-format",
        ),
        (
            &["serve", "--help"],
            "--listen DATABASE_URL --data-dir --log-format --tls-cert --tls-client-ca --migration-database-url OBLIQUE_MIGRATION_DATABASE_URL",
        ),
    ];
    for (args, wanted) in cases {
        let output = oblique(&data.path()).args(args).output().expect("run");
        assert!(output.status.success(), "{args:?}: {output:?}");
        let help = text(&output.stdout);
        for word in wanted.split(' ') {
            assert!(help.contains(word), "{args:?} lacks {word}:\n{help}");
        }
    }
}

#[tokio::test]
async fn embedded_serve_survives_a_restart_with_its_token_and_data_and_stops_its_postgres() {
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let token_file = data.path().join("admin-token");

    let mut first = Server::start(oblique(&data.path()), logs.path().join("first.log"));
    let token = wait_for_token(&mut first, &token_file).await;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "admin-token must be private");
    let mut clients = first.ready_clients(&token).await;
    let created = clients
        .integrations
        .create_integration(create_request("survives restarts").await)
        .await
        .expect("creating an integration")
        .into_inner();
    let status = first.terminate().await;
    assert!(status.success(), "{status}; log:\n{}", first.log_text());
    // pg_ctl stop removes the pid file: its absence means the server really stopped.
    assert!(
        !data.postmaster_pid().exists(),
        "embedded PostgreSQL still running after SIGTERM"
    );

    let mut second = Server::start(oblique(&data.path()), logs.path().join("second.log"));
    let mut clients = second.ready_clients(&token).await;
    let listed = clients
        .integrations
        .list_integrations(ListIntegrationsRequest::default())
        .await
        .expect("listing with the first run's token")
        .into_inner();
    assert!(
        listed.integrations.iter().any(|i| i.id == created.id),
        "integration lost across the restart: {listed:?}"
    );
    let on_disk = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(on_disk.trim(), token, "admin-token was rewritten");
    let status = second.terminate().await;
    assert!(status.success(), "{status}; log:\n{}", second.log_text());
    assert!(!data.postmaster_pid().exists());

    for log in [first.log_text(), second.log_text()] {
        assert!(!log.contains(&token), "the log shows the admin token");
        assert!(!log.contains(READER_PASSWORD), "the log shows a password");
    }
}

/// Drops the test database even when the test fails.
pub(crate) struct DropDatabase(pub(crate) String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        drop_test_database(std::mem::take(&mut self.0));
    }
}

#[tokio::test]
async fn token_cli_creates_lists_and_revokes_and_a_running_server_honours_revocation() {
    let (name, url) = create_test_database().await;
    let _database = DropDatabase(name);
    let data = DataDir::new();
    let run = |args: &[&str]| {
        let mut cmd = oblique(&data.path());
        cmd.env("DATABASE_URL", &url).arg("token").args(args);
        cmd.output().expect("running oblique token")
    };

    let created = run(&["create", "--name", "ci", "--role", "service"]);
    assert!(created.status.success(), "{created:?}");
    // Exactly one line, so that TOKEN=$(oblique token create …) captures the token alone.
    let stdout = text(&created.stdout);
    let token = stdout.strip_suffix('\n').expect("a final newline");
    assert!(token.starts_with("obl_") && !token.contains(char::is_whitespace));

    let list = run(&["list"]);
    assert!(list.status.success(), "{list:?}");
    let listing = text(&list.stdout);
    assert!(
        listing.lines().any(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            columns.starts_with(&["ci", "service"])
        }),
        "no ci/service row in:\n{listing}"
    );
    assert!(!listing.contains(token), "token list shows the token");

    assert_fails(
        &run(&["create", "--name", "ci", "--role", "service"]),
        &["already exists"],
    );
    assert_fails(
        &run(&["create", "--name", "other", "--role", "root"]),
        &["root", "admin", "viewer"],
    );

    // A server already running must refuse the token once it is revoked, as soon as its look-up
    // cache forgets it (auth::cache's unit tests hold the cache to its TTL).
    let logs = tempfile::tempdir().expect("tempdir");
    let mut serve = oblique(&data.path());
    serve.env("DATABASE_URL", &url);
    let mut server = Server::start(serve, logs.path().join("serve.log"));
    let mut clients = server.ready_clients(token).await;
    assert!(run(&["revoke", "ci"]).status.success());
    let refused_by = Instant::now() + DEADLINE;
    while clients
        .integrations
        .list_integration_types(ListIntegrationTypesRequest {})
        .await
        .is_ok()
    {
        assert!(Instant::now() < refused_by, "the revoked token still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    expect_code(
        clients
            .integrations
            .list_integration_types(ListIntegrationTypesRequest {})
            .await,
        Code::Unauthenticated,
    );
    assert_fails(&run(&["revoke", "ci"]), &[]);
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn json_log_format_writes_every_stderr_line_as_a_json_object() {
    let (name, url) = create_test_database().await;
    let _database = DropDatabase(name);
    let data = DataDir::new();
    let output = oblique(&data.path())
        .env("DATABASE_URL", &url)
        .args(["--log-format", "json", "token", "create"])
        .args(["--name", "json-check", "--role", "viewer"])
        .output()
        .expect("running oblique");
    assert!(output.status.success(), "{output:?}");
    let stderr = text(&output.stderr);
    // `token create` logs that it did: an empty stderr would prove nothing.
    assert!(!stderr.trim().is_empty(), "nothing was logged");
    for line in stderr.lines() {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        assert!(parsed.is_object(), "not a JSON object: {line}");
    }
    assert!(
        !stderr.contains(text(&output.stdout).trim()),
        "log shows the token"
    );
}
