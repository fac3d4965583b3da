//! Who may reach the durable embedded server: only the service's OS user, through a Unix socket in
//! a 0700 directory, with scram-sha-256 passwords kept in 0600 files. No TCP listener at all, so
//! no other account on the host (nor an integration pointed at 127.0.0.1) can connect.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rand::Rng;
use rand::distributions::Alphanumeric;

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{EmbeddedError, EmbeddedPostgres};
use crate::db::connect::percent_encode;

/// Every local connection must present a password; there are no TCP (`host`) lines.
pub(super) const PG_HBA: &str = "\
# Written by Oblique on every start: Unix socket only, passwords only.
local all all scram-sha-256
";

/// Names the socket (`.s.PGSQL.PORT`); `serve` and `oblique token` must agree on it, so it is
/// chosen once and written in the data directory. No TCP port is opened: a port free at init
/// is chosen anyway, so that nothing mistakes some other server on the usual 5432 for ours.
const PORT_FILE: &str = "port";
/// The Unix socket's directory, inside the server's 0700 directory.
pub(super) const SOCKET_DIR: &str = "run";
/// The bootstrap superuser's password; the other roles' files are named after them.
pub(super) const SUPERUSER: &str = "postgres";

/// The largest Unix socket path the kernel takes (sun_path is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// `dir/<role>.password`.
pub(super) fn password_file(dir: &Path, role: &str) -> PathBuf {
    dir.join(format!("{role}.password"))
}

/// The password in `path`, or None when there is none yet.
pub(super) fn read_password(path: &Path) -> Result<Option<String>, EmbeddedError> {
    match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(Some(text.trim().to_string())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// 32 alphanumerics (about 190 bits): nothing to quote in SQL, URLs or initdb's pwfile.
pub(super) fn generate_password() -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// Writes a 0600 file (owned by `owner` when given), whole or not at all.
pub(super) fn write_private(
    path: &Path,
    text: &str,
    owner: Option<(u32, u32)>,
) -> Result<(), EmbeddedError> {
    Ok(crate::private_file::write_private_file(
        path,
        &format!("{text}\n"),
        owner,
    )?)
}

/// The port in `dir/port`, written with the default on first use.
pub(super) fn fixed_port(dir: &Path, owner: Option<(u32, u32)>) -> Result<u16, EmbeddedError> {
    let path = dir.join(PORT_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| EmbeddedError::Command {
            what: "reading the embedded PostgreSQL's port".to_string(),
            detail: format!("{} does not hold a port number", path.display()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
                .local_addr()?
                .port();
            fs::write(&path, format!("{port}\n"))?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
            }
            Ok(port)
        }
        Err(e) => Err(e.into()),
    }
}

/// Creates the socket directory 0700, owned by the server's OS user.
pub(super) fn ensure_socket_dir(
    socket_dir: &Path,
    port: u16,
    owner: Option<(u32, u32)>,
) -> Result<(), EmbeddedError> {
    let socket = socket_dir.join(format!(".s.PGSQL.{port}"));
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(EmbeddedError::Command {
            what: "placing the embedded PostgreSQL's socket".to_string(),
            detail: format!(
                "{} is longer than the {MAX_SOCKET_PATH} bytes a Unix socket path may have; choose a shorter data directory",
                socket.display()
            ),
        });
    }
    fs::create_dir_all(socket_dir)?;
    fs::set_permissions(socket_dir, fs::Permissions::from_mode(0o700))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(socket_dir, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// postgres://ROLE:PASSWORD@%2Fpath%2Fto%2Frun:PORT/DATABASE (tokio-postgres and libpq both read
/// a percent-encoded absolute path as a socket directory).
pub(super) fn socket_url(
    socket_dir: &Path,
    port: u16,
    role: &str,
    password: &str,
    database: &str,
) -> String {
    let host = percent_encode(&socket_dir.to_string_lossy());
    format!(
        "postgres://{}:{}@{host}:{port}/{}",
        percent_encode(role),
        percent_encode(password),
        percent_encode(database)
    )
}

/// Quotes `text` for `sh -c`, which pg_ctl runs the server's options through.
pub(super) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

impl EmbeddedPostgres {
    /// The durable server: socket only, passwords only. See `start`.
    pub(super) fn start_secured(&mut self) -> Result<(), EmbeddedError> {
        self.port = fixed_port(&self.dir, self.pg_user)?;
        ensure_socket_dir(&self.socket_dir(), self.port, self.pg_user)?;
        let pwfile = password_file(&self.dir, SUPERUSER);
        let hba = self.data().join("pg_hba.conf");
        let secured = read_password(&pwfile)?.is_some()
            && fs::read_to_string(&hba).is_ok_and(|text| text == PG_HBA);
        if self.is_running()? {
            if secured {
                self.superuser_password = read_password(&pwfile)?;
                self.port = self.pid_file_port()?;
                self.running = true;
                self.wait_for_socket()?;
                tracing::info!("reusing running PostgreSQL");
                return Ok(());
            }
            // Left running by an older version (trust, TCP): stop it to secure it.
            (self.owns, self.running) = (true, true);
            self.stop()?;
            self.owns = false;
        }
        if !self.data().join("PG_VERSION").exists() {
            // initdb reads the password from the file, so it is written first.
            self.role_password(SUPERUSER)?;
            self.initdb(false)?;
        } else if read_password(&pwfile)?.is_none() {
            self.set_superuser_password()?;
        }
        // Rewritten on every start: whatever else the file allowed (trust, TCP) is gone.
        fs::write(&hba, PG_HBA)?;
        self.superuser_password = read_password(&pwfile)?;

        let socket_dir = shell_quote(&self.socket_dir().to_string_lossy());
        let opts = format!("-p {} -k {socket_dir} -c listen_addresses=''", self.port);
        let mut cmd = self.pg_ctl("start");
        // A generous timeout: crash recovery of a large cluster can take minutes, and pg_ctl
        // notices a postmaster that dies early without waiting it out.
        cmd.arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "300", "-o"]);
        self.run("starting PostgreSQL", cmd.arg(opts))?;
        (self.owns, self.running) = (true, true);
        self.wait_for_socket()?;
        tracing::info!(socket_dir = %self.socket_dir().display(), "started PostgreSQL");
        Ok(())
    }

    /// Upgrades a cluster initialised with `trust` (older versions): gives the superuser a
    /// password in single-user mode, so there is never a moment in which a server runs that
    /// trusts anyone. The password file is written only once the role has it.
    fn set_superuser_password(&self) -> Result<(), EmbeddedError> {
        let password = generate_password();
        let mut cmd = self.command("postgres");
        cmd.arg("--single")
            .arg("-D")
            .arg(self.data())
            .arg("postgres");
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            // On stdin, not the command line: other users can read command lines in /proc.
            writeln!(stdin, "SET password_encryption = 'scram-sha-256';")?;
            writeln!(stdin, "ALTER ROLE postgres PASSWORD '{password}';")?;
        }
        let out = child.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || stderr.contains("ERROR") {
            let detail = format!("{}\n{}", out.status, stderr.replace(&password, "…"));
            return Err(self.failure("setting the PostgreSQL superuser's password", detail));
        }
        let pwfile = password_file(&self.dir, SUPERUSER);
        write_private(&pwfile, &password, self.pg_user)?;
        tracing::info!(
            "secured a PostgreSQL cluster made by an older version: passwords, socket only"
        );
        Ok(())
    }

    /// pg_ctl -w already waits for readiness; this also covers a reused server still starting.
    fn wait_for_socket(&self) -> Result<(), EmbeddedError> {
        let socket = self.socket_dir().join(format!(".s.PGSQL.{}", self.port));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match std::os::unix::net::UnixStream::connect(&socket) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    let detail = format!("{} does not accept connections: {e}", socket.display());
                    return Err(self.failure("waiting for PostgreSQL", detail));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}
