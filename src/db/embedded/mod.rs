//! A private PostgreSQL server run from the machine's PostgreSQL binaries: the durable
//! database of `oblique serve` when no DATABASE_URL is configured, and throwaway servers
//! for tests. Everything blocks; async callers should use `spawn_blocking`.
//!
//! `dir` (0700, owned by the server's OS user) holds `data/` (the cluster), `postgres.log`,
//! and for the durable server `run/` (its Unix socket), `port` and the roles' `*.password`
//! files: initdb wants an empty directory, and these must live outside the cluster yet be
//! readable by the server's OS user. The durable server has no TCP listener and asks every
//! connection for a password (see `access`); throwaway servers listen on 127.0.0.1 and trust
//! everyone, for tests that need a "remote" server reached by host and port.

mod access;
mod binaries;
mod os_user;

pub use binaries::PostgresBinaries;
use os_user::{check_reachable, postgres_user, runuser};

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; searched: {}; install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoBinaries { searched: Vec<PathBuf> },
    #[error(
        "running as root, but there is no `postgres` OS user to run PostgreSQL as (it refuses to run as root); install the postgresql package, run as another user, or set DATABASE_URL"
    )]
    NoPostgresUser,
    #[error(
        "the `postgres` OS user cannot reach {dir}; every directory above the PostgreSQL data directory must be searchable by it (e.g. chmod o+x {dir}), or choose another data directory"
    )]
    Unreachable { dir: PathBuf },
    #[error("{dir} exists but is neither empty nor a PostgreSQL cluster; move it aside")]
    NotACluster { dir: PathBuf },
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub struct EmbeddedPostgres {
    dir: PathBuf,
    bindir: PathBuf,
    /// We are root: PostgreSQL refuses to run as root, so it runs as `postgres` (uid, gid),
    /// which then owns the directory and the files in it.
    pg_user: Option<(u32, u32)>,
    port: u16,
    /// Durable servers: the bootstrap superuser's password (socket only, scram-sha-256).
    superuser_password: Option<String>,
    owns: bool,
    running: bool,
}

impl EmbeddedPostgres {
    /// Starts (or reuses) a durable (fsync on) server whose cluster lives in `dir/data`,
    /// running initdb on first use, reachable only through its socket with a password. A
    /// cluster made by older versions (trust, TCP) is given a password first. A secured server
    /// already running on that cluster is reused, and then this handle does not stop it (see
    /// `owns_server`).
    pub fn start(dir: &Path) -> Result<Self, EmbeddedError> {
        Self::start_impl(dir, false)
    }

    /// Like `start`, but tuned for speed over durability (test clusters).
    pub fn start_throwaway(dir: &Path) -> Result<Self, EmbeddedError> {
        Self::start_impl(dir, true)
    }

    fn start_impl(dir: &Path, throwaway: bool) -> Result<Self, EmbeddedError> {
        let bindir = PostgresBinaries::locate()?.bindir;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let pg_user = match unsafe { libc::geteuid() } {
            0 => Some(postgres_user().ok_or(EmbeddedError::NoPostgresUser)?),
            _ => None,
        };
        fs::create_dir_all(dir)?;
        let dir = fs::canonicalize(dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        if let Some((uid, gid)) = pg_user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
            check_reachable(&dir)?;
        }
        tracing::info!(bindir = %bindir.display(), dir = %dir.display(), "using PostgreSQL binaries");
        let mut pg = Self {
            dir,
            bindir,
            pg_user,
            port: 0,
            superuser_password: None,
            owns: false,
            running: false,
        };
        match throwaway {
            true => pg.start_on_loopback()?,
            false => pg.start_secured()?,
        }
        Ok(pg)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's URL: postgres://postgres@127.0.0.1:PORT/DATABASE for a throwaway
    /// server; for the durable one, its socket with the password (never log it).
    pub fn url(&self, database: &str) -> String {
        match &self.superuser_password {
            Some(password) => self.url_as(access::SUPERUSER, password, database),
            None => format!("postgres://postgres@127.0.0.1:{}/{database}", self.port),
        }
    }

    /// The durable server's URL for `role`: through its socket, with the password.
    pub fn url_as(&self, role: &str, password: &str, database: &str) -> String {
        access::socket_url(&self.socket_dir(), self.port, role, password, database)
    }

    /// The directory of the durable server's Unix socket (0700).
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.join(access::SOCKET_DIR)
    }

    /// The password of `role`, from its 0600 file in the server's directory; a new random one
    /// (written there) when it has none. Setting it on the role is the caller's business.
    pub fn role_password(&self, role: &str) -> Result<String, EmbeddedError> {
        let path = access::password_file(&self.dir, role);
        if let Some(password) = access::read_password(&path)? {
            return Ok(password);
        }
        let password = access::generate_password();
        access::write_private(&path, &password, self.pg_user)?;
        Ok(password)
    }

    /// Whether stop()/drop will stop the server (false when an already-running one was reused).
    pub fn owns_server(&self) -> bool {
        self.owns
    }

    /// Takes ownership: stop()/drop will stop the server even if it was reused.
    pub fn take_ownership(&mut self) {
        self.owns = true;
    }

    /// Starts the durable server this handle started again when it stopped on its own (killed,
    /// crashed), on the same cluster, port and socket; `Ok(false)` while it runs. It never
    /// initialises a cluster: serving an empty database in place of a missing one would look
    /// like data loss to every caller, so a cluster that is gone is an error.
    pub fn restart_if_stopped(&mut self) -> Result<bool, EmbeddedError> {
        if !self.owns || !self.running || self.superuser_password.is_none() || self.is_running()? {
            return Ok(false);
        }
        let tail = self.log_tail(10).unwrap_or_default();
        tracing::error!(log = %tail, "the embedded PostgreSQL stopped; starting it again");
        if !self.data().join("PG_VERSION").exists() {
            let detail = format!("its cluster {} is gone", self.data().display());
            return Err(self.failure("starting PostgreSQL again", detail));
        }
        self.start_secured()?;
        Ok(true)
    }

    /// `pg_ctl stop -m fast -w`; idempotent; a no-op if not owned.
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        if !self.owns || !self.running {
            return Ok(());
        }
        let mut cmd = self.pg_ctl("stop");
        // Someone else stopping it first is fine: the goal is a stopped server.
        if let Err(e) = self.run("stopping PostgreSQL", cmd.args(["-m", "fast", "-w"]))
            && self.is_running()?
        {
            return Err(e);
        }
        self.running = false;
        tracing::info!(port = self.port, "stopped PostgreSQL");
        Ok(())
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn command(&self, bin: &str) -> Command {
        let mut cmd = if self.pg_user.is_some() {
            runuser(&self.bindir.join(bin))
        } else {
            Command::new(self.bindir.join(bin))
        };
        // The caller's working directory may be unreadable by the postgres user.
        cmd.current_dir(&self.dir).stdin(Stdio::null());
        cmd
    }

    fn pg_ctl(&self, action: &str) -> Command {
        let mut cmd = self.command("pg_ctl");
        cmd.arg(action).arg("-D").arg(self.data());
        cmd
    }

    fn is_running(&self) -> Result<bool, EmbeddedError> {
        Ok(self.pg_ctl("status").output()?.status.success())
    }

    /// Runs `cmd`; on failure the error carries its status, output and the log's tail.
    fn run(&self, what: &str, cmd: &mut Command) -> Result<(), EmbeddedError> {
        let out = cmd.output()?;
        if out.status.success() {
            return Ok(());
        }
        let mut detail = out.status.to_string();
        for text in [&out.stderr, &out.stdout].map(|s| String::from_utf8_lossy(s).into_owned()) {
            if !text.trim().is_empty() {
                detail = format!("{detail}\n{}", text.trim_end());
            }
        }
        Err(self.failure(what, detail))
    }

    /// A `Command` error whose detail ends with the last 20 lines of the server log.
    fn failure(&self, what: &str, mut detail: String) -> EmbeddedError {
        if let Some(tail) = self.log_tail(20) {
            detail = format!("{detail}\nlast lines of {}:\n{tail}", self.log().display());
        }
        let what = what.to_string();
        EmbeddedError::Command { what, detail }
    }

    fn log_tail(&self, lines: usize) -> Option<String> {
        let mut file = fs::File::open(self.log()).ok()?;
        // The durable log grows without bound: read only its end.
        file.seek(SeekFrom::End(-16 * 1024))
            .or_else(|_| file.rewind().map(|_| 0))
            .ok()?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let all: Vec<&str> = text.lines().collect();
        Some(all[all.len().saturating_sub(lines)..].join("\n"))
    }

    fn initdb(&self, throwaway: bool) -> Result<(), EmbeddedError> {
        let data = self.data();
        // Never delete anything but an empty directory someone created for us.
        if fs::symlink_metadata(&data).is_ok() && fs::remove_dir(&data).is_err() {
            return Err(EmbeddedError::NotACluster { dir: data });
        }
        // initdb writes PG_VERSION early, so build the cluster aside and rename it into
        // place: a failed or killed initdb never leaves `data` looking initialised.
        let staging = self.dir.join("data.initdb");
        if staging.exists() {
            fs::remove_dir_all(&staging)?;
        }
        let mut cmd = self.command("initdb");
        match throwaway {
            true => cmd.args(["-A", "trust"]),
            false => {
                let pwfile = access::password_file(&self.dir, access::SUPERUSER);
                cmd.args(["--auth=scram-sha-256", "--pwfile"]).arg(pwfile)
            }
        };
        cmd.args("-U postgres -E UTF8 --locale=C.UTF-8 -D".split(' '));
        cmd.arg(&staging).args(throwaway.then_some("--no-sync"));
        if let Err(e) = self.run("initdb", &mut cmd) {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        fs::rename(&staging, &data)?;
        if !throwaway {
            fs::File::open(&self.dir)?.sync_all()?; // make the rename durable
        }
        tracing::info!(dir = %data.display(), "initialised PostgreSQL cluster");
        Ok(())
    }

    /// Throwaway (test) servers: loopback TCP, trust, fsync off.
    fn start_on_loopback(&mut self) -> Result<(), EmbeddedError> {
        if self.is_running()? {
            self.port = self.pid_file_port()?;
            self.running = true;
            self.wait_for_tcp()?;
            tracing::info!(port = self.port, "reusing running PostgreSQL");
            return Ok(());
        }
        if !self.data().join("PG_VERSION").exists() {
            self.initdb(true)?;
        }
        // Unix sockets off, loopback TCP only: nothing can collide with a system server.
        let mut opts = "-k '' -c listen_addresses=127.0.0.1".to_string();
        opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        // A new cluster has no WAL segments to recycle: each new 16 MB segment would be
        // zero-filled before use, so whatever first writes a gigabyte on it pays about a
        // quarter more (measured: an initial sync of a million memberships, 3 s).
        opts += " -c wal_init_zero=off";
        opts += " -c max_connections=300";
        for attempt in 1.. {
            self.port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
            let mut cmd = self.pg_ctl("start");
            // A generous timeout: crash recovery of a large durable cluster can take minutes,
            // and pg_ctl notices a postmaster that dies early without waiting it out.
            cmd.arg("-l")
                .arg(self.log())
                .args(["-w", "-t", "300", "-o"]);
            cmd.arg(format!("-p {} {opts}", self.port));
            match self.run("starting PostgreSQL", &mut cmd) {
                Ok(()) => break,
                // Someone may grab the probed port before the server binds it.
                Err(EmbeddedError::Command { detail, .. })
                    if attempt < 3 && detail.contains("could not create any TCP/IP sockets") => {}
                Err(e) => return Err(e),
            }
        }
        (self.owns, self.running) = (true, true);
        self.wait_for_tcp()?;
        tracing::info!(port = self.port, "started PostgreSQL");
        Ok(())
    }

    fn pid_file_port(&self) -> Result<u16, EmbeddedError> {
        let pid_file = self.data().join("postmaster.pid");
        let text = fs::read_to_string(&pid_file)?;
        let port = text.lines().nth(3).and_then(|l| l.trim().parse().ok());
        let detail = || format!("no port on line 4 of {}", pid_file.display());
        port.ok_or_else(|| self.failure("finding the running PostgreSQL", detail()))
    }

    /// pg_ctl -w already waits for readiness; this also covers a reused server still starting.
    fn wait_for_tcp(&self) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = ([127, 0, 0, 1], self.port).into();
        loop {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    let detail = format!("{addr} does not accept connections: {e}");
                    return Err(self.failure("waiting for PostgreSQL", detail));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, port = self.port, "could not stop embedded PostgreSQL");
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod access_tests;
