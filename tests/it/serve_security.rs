//! What `oblique serve` and `oblique token` refuse or clean up, driven as the real binary:
//! plaintext gRPC beyond loopback, and the first admin token's file once it is no longer needed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::servers::{create_test_database, drop_test_database};

/// Bound on the binary starting or exiting on a busy machine.
const DEADLINE: Duration = Duration::from_secs(120);

const CLEARED_ENV: &[&str] = &[
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "OBLIQUE_DATA_DIR",
    "OBLIQUE_SECRET_KEY",
    "OBLIQUE_LOG_FORMAT",
    "OBLIQUE_LISTEN",
    "RUST_LOG",
];

/// A 0755 directory in /tmp with `data` (not created) inside; dropped afterwards.
fn temp_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("oblique-it-security-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.path().join("data");
    (dir, data)
}

fn oblique(data_dir: &Path, database_url: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oblique"));
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.arg("--data-dir").arg(data_dir).stdin(Stdio::null());
    cmd
}

/// A test database dropped even when the test fails.
struct Database {
    name: String,
    url: String,
}

impl Database {
    async fn new() -> Database {
        let (name, url) = create_test_database().await;
        Database { name, url }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        drop_test_database(std::mem::take(&mut self.name));
    }
}

/// `oblique serve` with its stderr in a file; killed on drop.
struct Serving {
    child: Child,
    log: PathBuf,
}

impl Serving {
    /// `oblique serve` with `flags`.
    fn start(mut cmd: Command, flags: &[&str], log: PathBuf) -> Serving {
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .arg("serve")
            .args(flags)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawning oblique serve");
        Serving { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) until `done` holds; fails with the log if the server exits first.
    async fn wait_until(&mut self, what: &str, mut done: impl FnMut(&Serving) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !done(self) {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "oblique exited ({status}) before {what}:\n{}",
                    self.log_text()
                );
            }
            assert!(Instant::now() < deadline, "no {what}:\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn serving(&mut self) {
        self.wait_until("serving gRPC", |s| s.log_text().contains("serving gRPC"))
            .await;
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn plaintext_grpc_beyond_loopback_is_refused_unless_explicitly_allowed() {
    let (_dir, data) = temp_dir();
    // Bounded: a binary that wrongly serves is killed by the guard, not waited for forever.
    let mut refused = Serving::start(
        oblique(&data, None),
        &["--listen", "0.0.0.0:0"],
        data.with_extension("refused.log"),
    );
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = refused.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running on 0.0.0.0 without TLS:\n{}",
            refused.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let text = refused.log_text();
    assert!(!status.success(), "served plaintext on 0.0.0.0: {text}");
    for word in [
        "plaintext",
        "0.0.0.0:0",
        "--tls-cert",
        "--allow-insecure-listen",
    ] {
        assert!(text.contains(word), "the refusal lacks {word:?}: {text}");
    }
    assert!(
        !data.exists(),
        "a refused start began setting up its data directory"
    );

    let database = Database::new().await;
    let mut allowed = Serving::start(
        oblique(&data, Some(&database.url)),
        &["--listen", "0.0.0.0:0", "--allow-insecure-listen"],
        data.with_extension("log"),
    );
    allowed.serving().await;
    assert!(
        allowed.log_text().contains("--allow-insecure-listen"),
        "no warning about plaintext:\n{}",
        allowed.log_text()
    );
}

#[tokio::test]
async fn the_first_admin_token_file_goes_once_a_second_admin_token_exists() {
    let (_dir, data) = temp_dir();
    let database = Database::new().await;
    let token_file = data.join("admin-token");
    let log = data.with_extension("log");

    // The first start makes the first admin token and its file.
    let mut first = Serving::start(
        oblique(&data, Some(&database.url)),
        &["--listen", "127.0.0.1:0"],
        log,
    );
    first.serving().await;
    assert!(token_file.exists(), "no first admin token file");
    drop(first);

    let token = |name: &str, role: &str| {
        let output = oblique(&data, Some(&database.url))
            .args(["token", "create", "--name", name, "--role", role])
            .output()
            .expect("running oblique token create");
        assert!(output.status.success(), "{}", stderr(&output));
        output
    };
    token("reader", "viewer");
    assert!(token_file.exists(), "a viewer token is no second admin");
    let second = token("ops", "admin");
    assert!(
        !token_file.exists(),
        "the file outlived a second admin token"
    );
    assert!(
        stderr(&second).contains("admin-token"),
        "{}",
        stderr(&second)
    );

    // A file still there when two admins exist (say, restored from a backup) goes at start.
    std::fs::write(&token_file, "obl_left_over\n").unwrap();
    let mut again = Serving::start(
        oblique(&data, Some(&database.url)),
        &["--listen", "127.0.0.1:0"],
        data.with_extension("log2"),
    );
    again
        .wait_until("the file deleted", |_| !token_file.exists())
        .await;
}
