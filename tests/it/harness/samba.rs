//! The Active Directory the AD tests use: one Samba AD DC per test process
//! ([`oblique_testkit::samba::Samba`], on the machine's fixed ports 389/636, a file lock keeping
//! other processes' servers out), stopped when the process exits. Each test works in an OU of its
//! own ([`Domain`]), so tests running at once never see each other's entries.
//!
//! Integrations bind as the domain's Administrator over ldaps:// trusting the test CA that
//! signed the DC's certificate for 127.0.0.1: what an AD integration normally looks like.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use oblique::connectors::{Connector, IntegrationKind, Setup};
use oblique_testkit::keep_until_exit;
use oblique_testkit::pki::TestCa;
use oblique_testkit::samba::{
    ADMIN_DN, ADMIN_PASSWORD, LDAP_URL, LDAPS_URL, SUFFIX, Samba, SambaTls,
};

/// The CA that signed the DC's certificate, PEM.
pub fn ca_pem() -> &'static str {
    &started().0
}

/// The process's DC, started on first use.
fn started() -> &'static (String,) {
    static STARTED: OnceLock<(String,)> = OnceLock::new();
    STARTED.get_or_init(|| {
        let ca = TestCa::new("oblique samba test CA");
        let (cert_pem, key_pem) = ca.server(&["127.0.0.1"]);
        let tls = SambaTls {
            cert_pem,
            key_pem,
            ca_pem: ca.pem(),
        };
        let samba = Samba::start(&tls).unwrap_or_else(|error| panic!("{error:#}"));
        keep_until_exit(samba);
        (ca.pem(),)
    })
}

/// One test's part of the domain: `OU=t<random>` under the domain, with `OU=people` and
/// `OU=groups` in it. Deleted (with all under it) when dropped.
pub struct Domain {
    pub base: String,
}

impl Domain {
    pub async fn new() -> Domain {
        tokio::task::spawn_blocking(started)
            .await
            .expect("starting samba");
        let ou = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let domain = Domain {
            base: format!("OU={ou},{SUFFIX}"),
        };
        domain
            .ldif(&format!(
                "dn: {{base}}\nobjectClass: organizationalUnit\nou: {ou}\n\n\
                 dn: OU=people,{{base}}\nobjectClass: organizationalUnit\nou: people\n\n\
                 dn: OU=groups,{{base}}\nobjectClass: organizationalUnit\nou: groups\n"
            ))
            .await;
        domain
    }

    /// A short prefix unique to this test: sAMAccountNames are unique domain-wide.
    pub fn prefix(&self) -> String {
        self.base[4..10].to_string()
    }

    pub fn people(&self) -> String {
        format!("OU=people,{}", self.base)
    }

    pub fn groups(&self) -> String {
        format!("OU=groups,{}", self.base)
    }

    pub fn user_dn(&self, name: &str) -> String {
        format!("CN={name},{}", self.people())
    }

    pub fn group_dn(&self, name: &str) -> String {
        format!("CN={name},{}", self.groups())
    }

    /// LDIF for an enabled user `name` (sAMAccountName too) with mail `<name>@example.org`.
    /// 544: a normal account that needs no password, so enabled without one.
    pub fn user_ldif(&self, name: &str) -> String {
        format!(
            "dn: {}\nobjectClass: user\nsAMAccountName: {name}\nuserPrincipalName: \
             {name}@example.org\nmail: {name}@example.org\ngivenName: {name}\n\
             userAccountControl: 544\n\n",
            self.user_dn(name)
        )
    }

    /// LDIF for a global security group `name` with these member DNs.
    pub fn group_ldif(&self, name: &str, member_dns: &[String]) -> String {
        let members: String = member_dns
            .iter()
            .map(|dn| format!("member: {dn}\n"))
            .collect();
        format!(
            "dn: {}\nobjectClass: group\nsAMAccountName: {name}\n{members}\n",
            self.group_dn(name)
        )
    }

    /// Applies LDIF as Administrator (records without a changetype are added); `{base}` stands
    /// for [`Domain::base`].
    pub async fn ldif(&self, ldif: &str) {
        let ldif = ldif.replace("{base}", &self.base);
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new("ldapmodify")
                .args([
                    "-x",
                    "-a",
                    "-H",
                    LDAP_URL,
                    "-D",
                    ADMIN_DN,
                    "-w",
                    ADMIN_PASSWORD,
                ])
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
                "ldapmodify failed: {}\n{}",
                String::from_utf8_lossy(&output.stderr),
                ldif.chars().take(2000).collect::<String>()
            );
        })
        .await
        .expect("ldapmodify task");
    }

    /// The LDIF of the entries under `dn` in `scope` with `attributes`, as Administrator sees
    /// them; lines unwrapped, references left out.
    pub async fn search(&self, dn: &str, scope: &str, attributes: &[&str]) -> String {
        let dn = dn.replace("{base}", &self.base);
        let scope = scope.to_string();
        let attributes: Vec<String> = attributes.iter().map(|a| a.to_string()).collect();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("ldapsearch")
                .args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", LDAP_URL])
                .args(["-D", ADMIN_DN, "-w", ADMIN_PASSWORD])
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

    /// The values of `attribute` of the entry `dn` (base64 ones as they are written).
    pub async fn values(&self, dn: &str, attribute: &str) -> Vec<String> {
        let ldif = self.search(dn, "base", &[attribute]).await;
        let lower = attribute.to_lowercase();
        ldif.lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                (name.to_lowercase() == lower)
                    .then(|| value.trim_start_matches(':').trim().to_string())
            })
            .collect()
    }

    /// The objectGUID of `dn` in canonical form, computed here from the bytes ldapsearch shows.
    pub async fn guid(&self, dn: &str) -> String {
        let values = self.values(dn, "objectGUID").await;
        assert_eq!(values.len(), 1, "objectGUID of {dn}: {values:?}");
        let bytes = base64_decode(&values[0]);
        assert_eq!(bytes.len(), 16);
        let b = &bytes;
        format!(
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{}-{}",
            b[3],
            b[2],
            b[1],
            b[0],
            b[5],
            b[4],
            b[7],
            b[6],
            hex(&b[8..10]),
            hex(&b[10..16])
        )
    }

    /// A setup over ldaps:// trusting the test CA, `extra` on top.
    pub fn config(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut config: HashMap<String, String> = [
            ("url", LDAPS_URL),
            ("ca_cert", ca_pem()),
            ("bind_dn", ADMIN_DN),
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

    /// A setup over ldap:// upgraded with StartTLS, trusting the test CA.
    pub fn starttls_config(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut config = self.config(&[("url", LDAP_URL), ("starttls", "true")]);
        config.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        config
    }

    pub fn credentials(&self) -> HashMap<String, String> {
        [("bind_password".to_string(), ADMIN_PASSWORD.to_string())].into()
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

    /// The connector an integration with this setup (and `extra` config) would use, with the
    /// setup completed as creating the integration completes it (the directory detected).
    pub async fn connector(&self, extra: &[(&str, &str)]) -> Box<dyn Connector> {
        let kind = IntegrationKind::Ldap;
        let setup = Setup::check(
            kind.setup_fields(),
            self.config(extra).into_iter().collect::<BTreeMap<_, _>>(),
            self.credentials().into_iter().collect(),
        )
        .expect("a valid setup");
        let setup = oblique::connectors::ldap::complete_setup(setup)
            .await
            .expect("the directory detected");
        kind.connector(&setup).expect("a connector")
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        // Errors ignored: this also runs while a failed test unwinds.
        let _ = Command::new("ldapdelete")
            .args([
                "-x",
                "-r",
                "-H",
                LDAP_URL,
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
            ])
            .arg(&self.base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64, as ldapsearch writes binary values.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}
