//! A throwaway OpenLDAP slapd: a temporary directory of its own (slapd.conf, an mdb database,
//! the server's log), bulk-loaded with `slapadd` before the server starts, listening on a free
//! port on 127.0.0.1. Dropping a [`Slapd`] stops the server and removes the directory, also when
//! starting it failed halfway.
//!
//! Two users with different needs share it: `oblique-bench --ldap` (a big generated directory,
//! no size limit, everyone may read) and the integration tests (a small base, a bind DN with
//! size limits and write access, restarts on the same port; tests/it/harness/slapd.rs).
//! [`SlapdConfig`] holds what differs between them; the rest (schemas, mdb, `dbnosync`) is the
//! same for all.
//!
//! Everything here blocks (processes, sleeps): call it from `spawn_blocking` in async code. It
//! needs the Debian `slapd` package (`apt-get install slapd ldap-utils`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::free_port;

/// How long a starting server may take to listen before it counts as failed. Generous: the
/// machines running tests and benchmarks are often busy.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a restart keeps trying the old port (the kernel may hold it for a moment after the
/// stop).
const RESTART_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopping server may take after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a server is made of.
#[derive(Debug, Clone)]
pub struct SlapdConfig {
    /// Start of the temporary directory's name, so that a leftover says who left it.
    pub name: &'static str,
    /// The database's suffix: the DN everything is under.
    pub suffix: String,
    /// The root DN, which ACLs and size limits do not apply to.
    pub root_dn: String,
    pub root_password: String,
    /// The most entries a search without paging returns, to everyone but the root DN (paged
    /// searches get everything, as in real directories). `None`: no limit.
    pub size_limit: Option<usize>,
    /// The mdb map size in bytes: how big the database may grow (address space until used).
    pub max_size: u64,
    /// `index` directives (`"objectClass eq"`, say); slapadd builds them while loading.
    pub indexes: Vec<String>,
    /// The ACL: `access to` directives in order, each without the leading `access to `.
    pub access: Vec<String>,
    /// A certificate to serve TLS with: StartTLS on the ldap:// port, and an ldaps:// port.
    pub tls: Option<SlapdTls>,
}

/// The server's certificate and key, PEM.
#[derive(Clone)]
pub struct SlapdTls {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for SlapdTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlapdTls { .. }")
    }
}

impl SlapdConfig {
    fn render(&self, dir: &Path) -> String {
        let dir = dir.display();
        let sizelimit = match self.size_limit {
            // size.prtotal=unlimited: the soft and hard limits bind plain searches only.
            Some(n) => format!("size.soft={n} size.hard={n} size.prtotal=unlimited"),
            None => "unlimited".to_string(),
        };
        let mut conf = format!(
            "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit {sizelimit}
database mdb
maxsize {max_size}
suffix \"{suffix}\"
rootdn \"{root_dn}\"
rootpw {root_password}
directory {dir}/db
dbnosync
",
            max_size = self.max_size,
            suffix = self.suffix,
            root_dn = self.root_dn,
            root_password = self.root_password,
        );
        if self.tls.is_some() {
            conf.push_str(&format!(
                "TLSCertificateFile {dir}/server.crt\nTLSCertificateKeyFile {dir}/server.key\n"
            ));
        }
        for index in &self.indexes {
            conf.push_str(&format!("index {index}\n"));
        }
        for access in &self.access {
            conf.push_str(&format!("access to {access}\n"));
        }
        conf
    }
}

/// A running (or stopped, see [`Slapd::stop`]) server. Dropping it stops the server and
/// removes its files.
pub struct Slapd {
    dir: PathBuf,
    port: u16,
    /// The ldaps:// port, when the server has a certificate.
    tls_port: Option<u16>,
    child: Option<Child>,
}

impl Slapd {
    /// Writes the configuration, bulk-loads the LDIF `load` writes with `slapadd -q` (when it
    /// writes nothing, the database starts empty), then starts the server on a free port and
    /// returns once it accepts connections.
    pub fn start(
        config: &SlapdConfig,
        load: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "{}-{}-{}",
            config.name,
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(dir.join("db"))
            .with_context(|| format!("creating {}", dir.display()))?;
        // From here on, dropping `slapd` removes the directory.
        let mut slapd = Slapd {
            dir,
            port: 0,
            tls_port: None,
            child: None,
        };
        std::fs::write(slapd.conf(), config.render(&slapd.dir)).context("writing slapd.conf")?;
        if let Some(tls) = &config.tls {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(slapd.dir.join("server.crt"), &tls.cert_pem)?;
            let key = slapd.dir.join("server.key");
            std::fs::write(&key, &tls.key_pem)?;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        }
        slapd.slapadd(load)?;
        // Another process may take the free port between our probe and slapd's bind: retry.
        for _ in 0..5 {
            let port = free_port();
            let tls_port = config.tls.as_ref().map(|_| free_port());
            if let Some(child) = spawn(&slapd.dir, port, tls_port)? {
                slapd.port = port;
                slapd.tls_port = tls_port;
                slapd.child = Some(child);
                return Ok(slapd);
            }
        }
        anyhow::bail!("cannot start slapd:\n{}", slapd.log())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// The ldaps:// URL, when the server has a certificate.
    pub fn ldaps_url(&self) -> Option<String> {
        self.tls_port
            .map(|port| format!("ldaps://127.0.0.1:{port}"))
    }

    /// Stops the server (SIGTERM, so that it closes its database cleanly; SIGKILL if it
    /// lingers) and returns once the process is gone: connections to its port are refused from
    /// then on. The database stays, for [`Slapd::restart`].
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

    /// Starts the server again over the same database on the same port, so that clients
    /// configured with [`Slapd::url`] find it (stopping it first if it runs).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        let deadline = Instant::now() + RESTART_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = spawn(&self.dir, self.port, self.tls_port)? {
                self.child = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        anyhow::bail!(
            "cannot restart slapd on port {}:\n{}",
            self.port,
            self.log()
        )
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("slapd.conf")
    }

    /// The server's output of its latest start.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default()
    }

    /// Loads what `load` writes; slapd must not be running (slapadd -q writes the database
    /// files directly). The LDIF file is removed afterwards: a generated one can be big.
    fn slapadd(
        &self,
        load: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let ldif = self.dir.join("load.ldif");
        let mut out = BufWriter::new(std::fs::File::create(&ldif)?);
        load(&mut out).context("writing the LDIF to load")?;
        out.flush()?;
        drop(out);
        if std::fs::metadata(&ldif)?.len() > 0 {
            let loaded = Command::new(binary("slapadd"))
                .arg("-q")
                .arg("-f")
                .arg(self.conf())
                .arg("-l")
                .arg(&ldif)
                .output()
                .context("running slapadd (apt-get install slapd ldap-utils)")?;
            anyhow::ensure!(
                loaded.status.success(),
                "slapadd failed: {}",
                String::from_utf8_lossy(&loaded.stderr)
            );
        }
        let _ = std::fs::remove_file(&ldif);
        Ok(())
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// slapd over the prepared `dir`, listening on `port` (and for ldaps:// on `tls_port`), once it
/// accepts connections; `None` when it exits or does not listen in time (a port taken, say).
/// Its output goes to `slapd.log` in `dir`.
fn spawn(dir: &Path, port: u16, tls_port: Option<u16>) -> anyhow::Result<Option<Child>> {
    let mut urls = format!("ldap://127.0.0.1:{port}/");
    if let Some(tls_port) = tls_port {
        urls.push_str(&format!(" ldaps://127.0.0.1:{tls_port}/"));
    }
    let log = std::fs::File::create(dir.join("slapd.log"))?;
    // -d 0: stay in the foreground, as our child (so that we can stop it), logging nothing.
    let mut child = Command::new(binary("slapd"))
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .arg("-h")
        .arg(urls)
        .args(["-d", "0"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting slapd (apt-get install slapd)")?;
    let deadline = Instant::now() + LISTEN_TIMEOUT;
    loop {
        let listening = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if listening(port) && tls_port.is_none_or(listening) {
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

/// The Debian package puts the server tools in /usr/sbin, which a non-root PATH may lack.
fn binary(name: &str) -> PathBuf {
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.exists() {
        sbin
    } else {
        PathBuf::from(name)
    }
}
