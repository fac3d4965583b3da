//! A throwaway MariaDB server (`mariadbd`): a data directory of its own made by
//! `mariadb-install-db` (once per process, then copied: installing takes seconds, copying
//! milliseconds), its own Unix socket, a free TCP port on 127.0.0.1, TLS when asked. Dropping a
//! [`MariaDb`] stops the server and removes its files, also when starting it failed halfway.
//!
//! `root` has no password and logs in over the socket only: [`MariaDb::admin`] is that
//! connection, for tests to set up users and roles and to read the server's state back.
//!
//! Starting one blocks (processes, polling): call it from `spawn_blocking` in async code. It
//! needs the Debian `mariadb-server` package; as root the server runs as the `mysql` user.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{free_port, keep_until_exit};

/// How long a starting server may take to listen (about 2 s on an idle machine).
const LISTEN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping server may take after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's certificate and key, and the CA of the clients it would check (PEM).
#[derive(Clone)]
pub struct MariaDbTls {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

impl std::fmt::Debug for MariaDbTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MariaDbTls { .. }")
    }
}

/// A running server.
pub struct MariaDb {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl MariaDb {
    /// A server over a fresh copy of the installed system tables, listening on a free port
    /// (TLS too with `tls`), once it accepts connections.
    pub fn start(tls: Option<&MariaDbTls>) -> anyhow::Result<Self> {
        let template = template()?;
        let dir = std::env::temp_dir().join(format!(
            "oblique-mariadb-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // From here on, dropping `server` removes the directory.
        let mut server = MariaDb {
            dir,
            port: 0,
            child: None,
        };
        run(Command::new("cp")
            .arg("-a")
            .arg(template.join("data"))
            .arg(server.dir.join("data")))?;
        if let Some(tls) = tls {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(server.dir.join("server.crt"), &tls.cert_pem)?;
            std::fs::write(server.dir.join("ca.crt"), &tls.ca_pem)?;
            let key = server.dir.join("server.key");
            std::fs::write(&key, &tls.key_pem)?;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        }
        own_for_server(&server.dir)?;
        // Another process may take the free port between our probe and the server's bind.
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(&server.dir, port, tls.is_some())? {
                server.port = port;
                server.child = Some(child);
                return Ok(server);
            }
            if !server.log().contains("Address already in use") {
                break;
            }
        }
        bail!("cannot start mariadbd:\n{}", server.log())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Unix socket root logs in over.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("mysqld.sock")
    }

    /// A connection as `root`, over the socket. A loaded machine can refuse it for a moment
    /// (seen in CI: the socket refused a connection right after start), so a refusal is tried
    /// again for up to half a minute before it fails the test.
    pub async fn admin(&self) -> anyhow::Result<mysql_async::Conn> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let options = mysql_async::OptsBuilder::default()
                .socket(Some(self.socket().display().to_string()))
                .user(Some("root"));
            match mysql_async::Conn::new(options).await {
                Ok(conn) => return Ok(conn),
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(error) => {
                    return Err(error).context("connecting to mariadbd as root over its socket");
                }
            }
        }
    }

    /// Stops the server (SIGTERM; SIGKILL if it lingers) and returns once the process is gone:
    /// connections to its port are refused from then on.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: signalling our own child, which has not been reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's error log of its latest start.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mariadbd.log")).unwrap_or_default()
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A directory removed when the process exits.
struct TemplateDir(PathBuf);

impl Drop for TemplateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The directory whose `data` every server copies: `mariadb-install-db` run once per process.
fn template() -> anyhow::Result<PathBuf> {
    static TEMPLATE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| install().map_err(|error| format!("{error:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn install() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "oblique-mariadb-template-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    keep_until_exit(TemplateDir(dir.clone()));
    own_for_server(&dir)?;
    let mut install = Command::new(binary("mariadb-install-db"));
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
    if is_root() {
        install.arg("--user=mysql");
    }
    run(&mut install).context("mariadb-install-db (apt-get install mariadb-server)")?;
    Ok(dir)
}

/// mariadbd over the prepared `dir`, listening on `port`, once it accepts connections; `None`
/// when it exits or does not listen in time (a port taken, say). Its log is `mariadbd.log`.
fn spawn(dir: &Path, port: u16, tls: bool) -> anyhow::Result<Option<Child>> {
    let log = dir.join("mariadbd.log");
    let _ = std::fs::remove_file(&log);
    let mut command = Command::new(binary("mariadbd"));
    command
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
        .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
        .arg(format!("--log-error={}", log.display()))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-log-bin",
            "--skip-name-resolve",
            // Tests hold a handful of rows: keep the memory of many servers at once small.
            "--innodb-buffer-pool-size=16M",
        ]);
    if tls {
        for (option, file) in [
            ("--ssl-cert", "server.crt"),
            ("--ssl-key", "server.key"),
            ("--ssl-ca", "ca.crt"),
        ] {
            command.arg(format!("{option}={}", dir.join(file).display()));
        }
    }
    if is_root() {
        command.arg("--user=mysql");
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting mariadbd (apt-get install mariadb-server)")?;
    let deadline = Instant::now() + LISTEN_TIMEOUT;
    loop {
        let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if listening && dir.join("mysqld.sock").exists() {
            return Ok(Some(child));
        }
        if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// As root the server runs as `mysql`, which must own its directory.
fn own_for_server(dir: &Path) -> anyhow::Result<()> {
    if is_root() {
        run(Command::new("chown").arg("-R").arg("mysql:mysql").arg(dir))?;
    }
    Ok(())
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// The Debian package puts the server in /usr/sbin, which a non-root PATH may lack.
fn binary(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}
