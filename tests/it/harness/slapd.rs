//! The LDAP directory tests use: one OpenLDAP slapd per test process (a throwaway
//! [`oblique_testkit::slapd::Slapd`] on a random port with its own directory), stopped and its
//! files removed when the process exits. Each test works in an OU of its own ([`Directory`]), so
//! tests running at once never see each other's entries.
//!
//! The server caps a plain search at [`SIZE_LIMIT`] entries for everyone but its root DN, as real
//! directories do; paged searches get everything. Integrations bind as [`BIND_DN`], which is
//! not the root DN (the root DN ignores limits, which would hide a connector that never pages).
//!
//! A test that stops and restarts the directory runs a [`DedicatedSlapd`] of its own instead.
//!
//! The servers serve TLS (StartTLS on the ldap:// port, and an ldaps:// port) with a certificate
//! for 127.0.0.1 signed by a test CA ([`ca_pem`]). The default setup ([`Directory::config`]) is
//! plain ldap:// with `allow_plaintext`, as a throwaway server on 127.0.0.1 needs nothing more;
//! [`Directory::ldaps_config`] and [`Directory::starttls_config`] verify the server.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use oblique::connectors::{Connector, IntegrationKind, Setup};
use oblique_testkit::keep_until_exit;
use oblique_testkit::pki::TestCa;
use oblique_testkit::slapd::{Slapd, SlapdConfig, SlapdTls};

pub const SUFFIX: &str = "dc=example,dc=org";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
pub const ROOT_PASSWORD: &str = "root-Secret-4c1e";
/// Who integrations bind as: may read everything and change entries, but has size limits.
pub const BIND_DN: &str = "cn=oblique,dc=example,dc=org";
pub const BIND_PASSWORD: &str = "bind-Secret-7d2a";
/// The most entries a search without paging returns.
pub const SIZE_LIMIT: usize = 500;

/// The test CA's certificate (PEM) and the servers' certificate it signed, made once per process.
fn pki() -> &'static (String, SlapdTls) {
    static PKI: OnceLock<(String, SlapdTls)> = OnceLock::new();
    PKI.get_or_init(|| {
        let ca = TestCa::new("oblique slapd test CA");
        let (cert_pem, key_pem) = ca.server(&["127.0.0.1"]);
        (ca.pem(), SlapdTls { cert_pem, key_pem })
    })
}

/// The CA that signed the test servers' certificate, PEM: what `ca_cert` must hold.
pub fn ca_pem() -> String {
    pki().0.clone()
}

/// The tests' server: size-limited for all but the root DN; the bind DN may change everything,
/// other authenticated users only read, and passwords serve only to bind.
fn config() -> SlapdConfig {
    SlapdConfig {
        name: "oblique-it-slapd",
        suffix: SUFFIX.to_string(),
        root_dn: ROOT_DN.to_string(),
        root_password: ROOT_PASSWORD.to_string(),
        size_limit: Some(SIZE_LIMIT),
        max_size: 1 << 30,
        indexes: Vec::new(),
        access: vec![
            "attrs=userPassword by self write by anonymous auth by * none".to_string(),
            format!("* by dn.exact=\"{BIND_DN}\" write by users read by * none"),
        ],
        tls: Some(pki().1.clone()),
    }
}

/// A new server, running, with the base entries loaded: the suffix and the bind DN.
fn start() -> Slapd {
    let base = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n\
         dn: {BIND_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
         cn: oblique\nuserPassword: {BIND_PASSWORD}\n"
    );
    Slapd::start(&config(), |out| out.write_all(base.as_bytes()))
        .unwrap_or_else(|error| panic!("{error:#}"))
}

/// The ldap:// and ldaps:// URLs of the process's shared server, started on first use.
fn shared_urls() -> &'static (String, Option<String>) {
    static URLS: OnceLock<(String, Option<String>)> = OnceLock::new();
    URLS.get_or_init(|| {
        let slapd = start();
        let urls = (slapd.url(), slapd.ldaps_url());
        keep_until_exit(slapd);
        urls
    })
}

/// A server of one test's own, for tests that take the directory away: [`DedicatedSlapd::stop`]
/// ends the process, [`DedicatedSlapd::restart`] brings it back on the same port over the same
/// database. Dropping it stops it and removes its files.
///
/// Same configuration and base entries as the shared server; [`Directory::on`] makes a test's
/// OU in it.
pub struct DedicatedSlapd(Slapd);

impl DedicatedSlapd {
    /// A fresh server, running.
    pub fn start() -> Self {
        DedicatedSlapd(start())
    }

    pub fn url(&self) -> String {
        self.0.url()
    }

    /// Stops the server and returns once the process is gone: connections to its port are
    /// refused from then on.
    pub fn stop(&mut self) {
        self.0.stop();
    }

    /// Starts the server again on the same port over the same database.
    pub fn restart(&mut self) {
        self.0.restart().unwrap_or_else(|error| panic!("{error:#}"));
    }
}

/// One test's part of the directory: `ou=t<random>` under the suffix, with `ou=people` and
/// `ou=groups` in it. Integrations use it as their base DN. Deleted when dropped.
pub struct Directory {
    pub base: String,
    url: String,
    /// Known on the shared server only.
    ldaps_url: Option<String>,
}

impl Directory {
    /// On the process's shared server.
    pub async fn new() -> Directory {
        let (url, ldaps_url) = shared_urls();
        let mut directory = Directory::on(url).await;
        directory.ldaps_url = ldaps_url.clone();
        directory
    }

    /// On the server at `url` (a [`DedicatedSlapd`]'s, say).
    pub async fn on(url: &str) -> Directory {
        let ou = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let directory = Directory {
            base: format!("ou={ou},{SUFFIX}"),
            url: url.to_string(),
            ldaps_url: None,
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
        let ldif = self.search(dn, "base", &[attribute]).await;
        let prefix = format!("{}: ", attribute.to_lowercase());
        ldif.lines()
            .filter_map(|line| {
                let lower = line.to_lowercase();
                lower
                    .starts_with(&prefix)
                    .then(|| line[prefix.len()..].to_string())
            })
            .collect()
    }

    /// The LDIF of the entries under `dn` (`{base}` standing for the test's OU) in `scope`
    /// (`base`, `one`, `sub`), with `attributes`, as the root DN sees them; lines unwrapped.
    pub async fn search(&self, dn: &str, scope: &str, attributes: &[&str]) -> String {
        let dn = dn.replace("{base}", &self.base);
        let url = self.url.clone();
        let scope = scope.to_string();
        let attributes: Vec<String> = attributes.iter().map(|a| a.to_string()).collect();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("ldapsearch")
                .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", &url])
                .args(["-D", ROOT_DN, "-w", ROOT_PASSWORD])
                .args(["-s", &scope, "-b", &dn, "(objectClass=*)"])
                .args(&attributes)
                .output()
                .expect("running ldapsearch")
        })
        .await
        .expect("ldapsearch task");
        assert!(output.status.success(), "ldapsearch: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub async fn entry_uuid(&self, dn: &str) -> String {
        let mut uuids = self.values(dn, "entryUUID").await;
        assert_eq!(uuids.len(), 1, "entryUUID of {dn}");
        uuids.remove(0)
    }

    /// A valid `ldap` setup for this part of the directory, with `extra` config on top: plain
    /// ldap:// with allow_plaintext.
    pub fn config(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut config: HashMap<String, String> = [
            ("url", self.url.as_str()),
            ("allow_plaintext", "true"),
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

    /// A setup over ldaps:// trusting the test CA (shared server only), `extra` on top.
    pub fn ldaps_config(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let ldaps_url = self
            .ldaps_url
            .as_deref()
            .expect("the shared server's ldaps:// URL");
        let mut config = self.config(&[("url", ldaps_url), ("ca_cert", &ca_pem())]);
        config.remove("allow_plaintext");
        config.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        config
    }

    /// A setup over ldap:// upgraded with StartTLS, trusting the test CA, `extra` on top.
    pub fn starttls_config(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut config = self.config(&[("starttls", "true"), ("ca_cert", &ca_pem())]);
        config.remove("allow_plaintext");
        config.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
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
            self.credentials().into_iter().collect(),
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
