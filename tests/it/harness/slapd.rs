//! The LDAP directory tests use: one OpenLDAP slapd per test process, on a random port with its
//! own directory and slapd.conf, stopped (and its files removed) when the process exits. Each
//! test works in an OU of its own ([`Directory`]), so tests running at once never see each
//! other's entries.
//!
//! The server caps a plain search at [`SIZE_LIMIT`] entries for everyone but its root DN, as real
//! directories do; paged searches get everything. Integrations bind as [`BIND_DN`], which is
//! not the root DN (the root DN ignores limits, which would hide a connector that never pages).
//!
//! A test that stops and restarts the directory runs a [`DedicatedSlapd`] of its own instead.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use oblique::connectors::{Connector, IntegrationKind, Setup};

pub const SUFFIX: &str = "dc=example,dc=org";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
pub const ROOT_PASSWORD: &str = "root-Secret-4c1e";
/// Who integrations bind as: may read everything and change entries, but has size limits.
pub const BIND_DN: &str = "cn=oblique,dc=example,dc=org";
pub const BIND_PASSWORD: &str = "bind-Secret-7d2a";
/// The most entries a search without paging returns.
pub const SIZE_LIMIT: usize = 500;

/// Servers this process started; an atexit hook stops them.
static STARTED: Mutex<Vec<(Child, PathBuf)>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();

extern "C" fn stop_started_servers() {
    if let Ok(mut started) = STARTED.lock() {
        for (mut child, dir) in started.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub struct Slapd {
    pub url: String,
}

/// The process's server, started on first use.
pub fn slapd() -> &'static Slapd {
    static SLAPD: OnceLock<Slapd> = OnceLock::new();
    SLAPD.get_or_init(start)
}

/// A Debian package puts the server in /usr/sbin, which a non-root PATH may lack.
fn binary(name: &str) -> PathBuf {
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.exists() {
        sbin
    } else {
        PathBuf::from(name)
    }
}

fn start() -> Slapd {
    ATEXIT.call_once(|| unsafe {
        // SAFETY: registering a plain extern "C" function with no captured state.
        libc::atexit(stop_started_servers);
    });
    let dir = prepare();
    // Another process may take the free port between our probe and slapd's bind: retry.
    for _ in 0..5 {
        let port = free_port();
        if let Some(child) = spawn(&dir, port) {
            STARTED.lock().expect("lock").push((child, dir));
            return Slapd {
                url: format!("ldap://127.0.0.1:{port}"),
            };
        }
    }
    panic!("cannot start slapd:\n{}", log_of(&dir));
}

/// A new server directory: its slapd.conf, and its database loaded with the base entries (the
/// suffix and the bind DN).
fn prepare() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "oblique-it-slapd-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(dir.join("db")).expect("creating the slapd directory");
    let conf = dir.join("slapd.conf");
    std::fs::write(&conf, slapd_conf(&dir)).expect("writing slapd.conf");
    let base = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: {BIND_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
         cn: oblique\nuserPassword: {BIND_PASSWORD}\n"
    );
    std::fs::write(dir.join("base.ldif"), base).expect("writing base.ldif");
    let loaded = Command::new(binary("slapadd"))
        .arg("-q")
        .arg("-f")
        .arg(&conf)
        .arg("-l")
        .arg(dir.join("base.ldif"))
        .output()
        .expect("running slapadd (apt-get install slapd ldap-utils)");
    assert!(loaded.status.success(), "slapadd: {loaded:?}");
    dir
}

/// slapd over the prepared `dir`, listening on `port`, once it accepts connections; `None` when
/// it exits or does not listen in time (the port taken, say). Its output goes to `slapd.log`
/// in `dir`.
fn spawn(dir: &Path, port: u16) -> Option<Child> {
    let log = std::fs::File::create(dir.join("slapd.log")).expect("log file");
    // -d 0: stay in the foreground, as our child, logging nothing.
    let mut child = Command::new(binary("slapd"))
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .arg("-h")
        .arg(format!("ldap://127.0.0.1:{port}/"))
        .args(["-d", "0"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("starting slapd");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(child);
        }
        if child.try_wait().ok().flatten().is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("slapd.log")).unwrap_or_default()
}

/// A server of one test's own, for tests that take the directory away: [`DedicatedSlapd::stop`]
/// ends the process, [`DedicatedSlapd::restart`] brings it back on the same port over the same
/// database. Dropping it stops it and removes its files.
///
/// Same configuration and base entries as the shared server; [`Directory::on`] makes a test's
/// OU in it.
pub struct DedicatedSlapd {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl DedicatedSlapd {
    /// A fresh server, running.
    pub fn start() -> Self {
        let dir = prepare();
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = spawn(&dir, port) {
                return DedicatedSlapd {
                    dir,
                    port,
                    child: Some(child),
                };
            }
        }
        let log = log_of(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        panic!("cannot start a dedicated slapd:\n{log}");
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Stops the server (SIGTERM, so it closes its database cleanly; SIGKILL if it lingers) and
    /// returns once the process is gone: connections to its port are refused from then on.
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
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same port over the same database (stopping it first if it
    /// runs). The port may still be held for a moment after the stop: retried for a while.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = spawn(&self.dir, self.port) {
                self.child = Some(child);
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "cannot restart slapd on port {}:\n{}",
            self.port,
            log_of(&self.dir)
        );
    }
}

impl Drop for DedicatedSlapd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn slapd_conf(dir: &Path) -> String {
    let dir = dir.display();
    // size.prtotal=unlimited: paged searches may return everything, plain ones SIZE_LIMIT.
    format!(
        "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit size.soft={SIZE_LIMIT} size.hard={SIZE_LIMIT} size.prtotal=unlimited
database mdb
maxsize 1073741824
suffix \"{SUFFIX}\"
rootdn \"{ROOT_DN}\"
rootpw {ROOT_PASSWORD}
directory {dir}/db
dbnosync
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact=\"{BIND_DN}\" write by users read by * none
"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// One test's part of the directory: `ou=t<random>` under the suffix, with `ou=people` and
/// `ou=groups` in it. Integrations use it as their base DN. Deleted when dropped.
pub struct Directory {
    pub base: String,
    url: String,
}

impl Directory {
    /// On the process's shared server.
    pub async fn new() -> Directory {
        Directory::on(&slapd().url).await
    }

    /// On the server at `url` (a [`DedicatedSlapd`]'s, say).
    pub async fn on(url: &str) -> Directory {
        let ou = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let directory = Directory {
            base: format!("ou={ou},{SUFFIX}"),
            url: url.to_string(),
        };
        directory
            .ldif(&format!(
                "dn: {{base}}\nobjectClass: organizationalUnit\nou: {ou}\n\n\
                 dn: ou=people,{{base}}\nobjectClass: organizationalUnit\nou: people\n\n\
                 dn: ou=groups,{{base}}\nobjectClass: organizationalUnit\nou: groups\n"
            ))
            .await;
        directory
    }

    /// `ou=people` in this test's part of the directory.
    pub fn people(&self) -> String {
        format!("ou=people,{}", self.base)
    }

    pub fn groups(&self) -> String {
        format!("ou=groups,{}", self.base)
    }

    /// Applies LDIF as the root DN (records without a changetype are added); `{base}` stands
    /// for [`Directory::base`].
    pub async fn ldif(&self, ldif: &str) {
        let ldif = ldif.replace("{base}", &self.base);
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new("ldapmodify")
                .args(["-x", "-a", "-H", &url, "-D", ROOT_DN, "-w", ROOT_PASSWORD])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("running ldapmodify (apt-get install ldap-utils)");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(ldif.as_bytes())
                .expect("writing LDIF");
            let output = child.wait_with_output().expect("ldapmodify");
            assert!(
                output.status.success(),
                "ldapmodify failed: {}\n{ldif}",
                String::from_utf8_lossy(&output.stderr)
            );
        })
        .await
        .expect("ldapmodify task");
    }

    /// Adds `count` users `uid=<prefix><n>` under ou=people.
    pub async fn add_users(&self, prefix: &str, count: usize) {
        let mut ldif = String::new();
        for n in 0..count {
            ldif.push_str(&format!(
                "dn: uid={prefix}{n},ou=people,{{base}}\nobjectClass: inetOrgPerson\n\
                 uid: {prefix}{n}\ncn: User {n}\nsn: {n}\nmail: {prefix}{n}@example.org\n\n"
            ));
        }
        self.ldif(&ldif).await;
    }

    /// The values of `attribute` of the entry `dn`, as the root DN sees them.
    pub async fn values(&self, dn: &str, attribute: &str) -> Vec<String> {
        let dn = dn.replace("{base}", &self.base);
        let url = self.url.clone();
        let requested = attribute.to_string();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("ldapsearch")
                .args([
                    "-x",
                    "-LLL",
                    "-o",
                    "ldif-wrap=no",
                    "-H",
                    &url,
                    "-D",
                    ROOT_DN,
                ])
                .args([
                    "-w",
                    ROOT_PASSWORD,
                    "-s",
                    "base",
                    "-b",
                    &dn,
                    "(objectClass=*)",
                ])
                .arg(&requested)
                .output()
                .expect("running ldapsearch")
        })
        .await
        .expect("ldapsearch task");
        assert!(output.status.success(), "ldapsearch: {output:?}");
        let prefix = format!("{}: ", attribute.to_lowercase());
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let lower = line.to_lowercase();
                lower
                    .starts_with(&prefix)
                    .then(|| line[prefix.len()..].to_string())
            })
            .collect()
    }

    pub async fn entry_uuid(&self, dn: &str) -> String {
        let mut uuids = self.values(dn, "entryUUID").await;
        assert_eq!(uuids.len(), 1, "entryUUID of {dn}");
        uuids.remove(0)
    }

    /// A valid `ldap` setup for this part of the directory, with `extra` config on top.
    pub fn config(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut config: HashMap<String, String> = [
            ("url", self.url.as_str()),
            ("bind_dn", BIND_DN),
            ("base_dn", self.base.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (key, value) in extra {
            config.insert(key.to_string(), value.to_string());
        }
        config
    }

    pub fn credentials(&self) -> HashMap<String, String> {
        [("bind_password".to_string(), BIND_PASSWORD.to_string())].into()
    }

    pub fn create_request(&self, name: &str) -> oblique::pb::CreateIntegrationRequest {
        oblique::pb::CreateIntegrationRequest {
            r#type: "ldap".into(),
            name: name.into(),
            config: self.config(&[]),
            credentials: self.credentials(),
            ..Default::default()
        }
    }

    /// The connector an integration with this setup (and `extra` config) would use.
    pub fn connector(&self, extra: &[(&str, &str)]) -> Box<dyn Connector> {
        let to_map = |map: HashMap<String, String>| map.into_iter().collect::<BTreeMap<_, _>>();
        let kind = IntegrationKind::Ldap;
        let setup = Setup::check(
            kind.setup_fields(),
            to_map(self.config(extra)),
            to_map(self.credentials()),
        )
        .expect("a valid setup");
        kind.connector(&setup).expect("a connector")
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        // Errors ignored: this also runs while a failed test unwinds.
        let _ = Command::new("ldapdelete")
            .args([
                "-x",
                "-r",
                "-H",
                &self.url,
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PASSWORD,
            ])
            .arg(&self.base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
