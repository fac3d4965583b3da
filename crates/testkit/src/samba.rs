//! A throwaway Active Directory domain controller: Samba's AD DC (Debian `samba`,
//! `samba-ad-dc`, `samba-ad-provision`), provisioned into a temporary directory and run in the
//! foreground (`samba -i -M single`). It listens on 127.0.0.1:389 (LDAP, StartTLS) and :636
//! (LDAPS) with a certificate the caller hands it; those ports are fixed, so one machine runs one
//! at a time: a file lock ([`LOCK_FILE`]) makes a second process wait for the first to finish.
//!
//! Provisioning takes a few seconds, so tests start one per process and share it (each in an OU
//! of its own). The server dies with the thread that started it ([`Samba::start`] runs it from a
//! thread that lives as long as the process), also when the process is killed; dropping a
//! [`Samba`] stops it and removes its files.
//!
//! Everything here blocks (processes, sleeps): call it from `spawn_blocking` in async code. It
//! needs root (provisioning writes as the domain's owner, samba binds ports below 1024).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;

pub const REALM: &str = "EXAMPLE.ORG";
pub const DOMAIN: &str = "EXAMPLE";
/// The domain's naming context.
pub const SUFFIX: &str = "DC=example,DC=org";
pub const ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=example,DC=org";
pub const ADMIN_PASSWORD: &str = "Passw0rd!Adm";
pub const LDAP_URL: &str = "ldap://127.0.0.1:389";
pub const LDAPS_URL: &str = "ldaps://127.0.0.1:636";
/// Held while a server runs: the ports are the machine's, not the process's.
pub const LOCK_FILE: &str = "/tmp/oblique-testkit-samba.lock";

/// How long a starting server may take to answer LDAP. Generous: test machines are busy.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's certificate and key (PEM), and the CA that signed it.
pub struct SambaTls {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

/// A running domain controller.
pub struct Samba {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The lock on [`LOCK_FILE`], released when this is dropped.
    _lock: File,
}

impl Samba {
    /// Provisions a domain and starts its DC; returns once it answers LDAP.
    pub fn start(tls: &SambaTls) -> anyhow::Result<Samba> {
        anyhow::ensure!(
            Path::new("/usr/bin/samba-tool").exists() || which("samba-tool"),
            "samba-tool is missing: the Active Directory tests need Samba's AD DC \
             (apt-get install --no-install-recommends samba samba-ad-dc samba-ad-provision \
             samba-dsdb-modules samba-vfs-modules winbind; .ci/run does it)"
        );
        let lock = File::create(LOCK_FILE).with_context(|| format!("creating {LOCK_FILE}"))?;
        // SAFETY: flock on a descriptor we own; blocks until another process's server is gone.
        let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        anyhow::ensure!(locked == 0, "cannot lock {LOCK_FILE}");
        let dir = tempfile::Builder::new()
            .prefix("oblique-samba-")
            .tempdir()
            .context("a temporary directory for samba")?;
        provision(dir.path())?;
        write_tls(dir.path(), tls)?;
        let child = spawn_kept(dir.path())?;
        let mut samba = Samba {
            dir,
            child: Some(child),
            _lock: lock,
        };
        samba.wait_ready()?;
        Ok(samba)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let answered = Command::new("ldapsearch")
                .args(["-x", "-H", LDAP_URL, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD])
                .args(["-s", "base", "-b", SUFFIX, "dn"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .context("running ldapsearch (apt-get install ldap-utils)")?
                .success();
            let tls_listening = std::net::TcpStream::connect(("127.0.0.1", 636)).is_ok();
            if answered && tls_listening {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if exited || Instant::now() > deadline {
                anyhow::bail!(
                    "samba did not answer on {LDAP_URL} (ports 389/636 taken?):\n{}",
                    std::fs::read_to_string(self.dir.path().join("samba.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Samba {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: signalling the process group of our own child (it leads it).
            unsafe {
                libc::kill(-pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                if let Ok(pid) = libc::pid_t::try_from(child.id()) {
                    // SAFETY: as above.
                    unsafe {
                        libc::kill(-pid, libc::SIGKILL);
                    }
                }
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn which(binary: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn provision(dir: &Path) -> anyhow::Result<()> {
    let output = Command::new("samba-tool")
        .args(["domain", "provision", "--use-rfc2307"])
        .arg(format!("--realm={REALM}"))
        .arg(format!("--domain={DOMAIN}"))
        .args(["--server-role=dc", "--dns-backend=NONE"])
        .arg(format!("--adminpass={ADMIN_PASSWORD}"))
        .arg(format!("--targetdir={}", dir.display()))
        .args([
            "--option=interfaces=lo",
            "--option=bind interfaces only=yes",
        ])
        .output()
        .context("running samba-tool domain provision")?;
    anyhow::ensure!(
        output.status.success(),
        "samba-tool domain provision failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn write_tls(dir: &Path, tls: &SambaTls) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("tls-cert.pem"), &tls.cert_pem)?;
    std::fs::write(dir.join("tls-ca.pem"), &tls.ca_pem)?;
    let key = dir.join("tls-key.pem");
    std::fs::write(&key, &tls.key_pem)?;
    // Samba refuses a key others may read.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Starts samba from a thread that lives as long as the process: the server gets SIGKILL when
/// the thread that forked it ends (PR_SET_PDEATHSIG), so a killed test process leaves no server
/// holding the ports, and no short-lived worker thread can take it down early.
fn spawn_kept(dir: &Path) -> anyhow::Result<Child> {
    let dir: PathBuf = dir.to_path_buf();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("samba-keeper".into())
        .spawn(move || {
            let _ = tx.send(spawn(&dir));
            loop {
                std::thread::park();
            }
        })
        .context("starting the samba keeper thread")?;
    rx.recv().context("the samba keeper thread")?
}

fn spawn(dir: &Path) -> anyhow::Result<Child> {
    let log = File::create(dir.join("samba.log"))?;
    let option = |name: &str, file: &str| format!("--option={name} = {}", dir.join(file).display());
    let mut command = Command::new("samba");
    command
        .args(["-i", "-M", "single", "-s"])
        .arg(dir.join("etc/smb.conf"))
        // Tests also bind over plain ldap:// (allow_plaintext) to check what AD refuses.
        .arg("--option=ldap server require strong auth = no")
        .arg(option("tls keyfile", "tls-key.pem"))
        .arg(option("tls certfile", "tls-cert.pem"))
        .arg(option("tls cafile", "tls-ca.pem"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
        .spawn()
        .context("starting samba (apt-get install samba samba-ad-dc)")
}
