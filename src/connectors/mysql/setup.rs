//! The setup form of the `mysql` integration type, and reading a checked setup into settings.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::settings::{MysqlSettings, TlsMode};
use crate::connectors::setup::{field, invalid};
use crate::connectors::tls::TrustAnchors;
use crate::connectors::{ConnectorError, Setup, SetupField};

/// The setup form of the `mysql` integration type.
pub const SETUP_FIELDS: &[SetupField] = &[
    field(
        "host",
        "Host name or IP address of the MySQL or MariaDB server",
        true,
        false,
        None,
    ),
    field("port", "TCP port", false, false, Some("3306")),
    field("username", "User Oblique logs in as", true, false, None),
    field("password", "Password of that user", true, true, None),
    field(
        "tls",
        "disabled, preferred, required or verify_identity (as MySQL's ssl-mode): \
         verify_identity checks that the server's certificate is signed by a trusted CA and \
         names the host; required only encrypts; preferred also falls back to no TLS",
        false,
        false,
        Some("verify_identity"),
    ),
    field(
        "ca_cert",
        "PEM certificate(s) of the CA that signed the server's certificate, trusted instead of \
         this machine's root CAs (as MySQL's ssl-ca); used by tls verify_identity",
        false,
        false,
        None,
    ),
    field(
        "user_pattern",
        "SQL LIKE pattern on the user name limiting which accounts are synced",
        false,
        false,
        None,
    ),
];

/// The config fields that decide where the password is sent and how it is protected on the way:
/// changing one must come with the password again.
pub const CREDENTIAL_DESTINATION_FIELDS: &[&str] = &["host", "port", "username", "tls", "ca_cert"];

impl MysqlSettings {
    /// Reads a setup checked against [`SETUP_FIELDS`]; `connect_timeout` comes from the caller.
    pub fn from_setup(setup: &Setup, connect_timeout: Duration) -> Result<Self, ConnectorError> {
        let config = |name: &str| match setup.config(name).map(str::trim) {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err(invalid(format!("config.{name}"), "is required")),
        };
        let port = config("port")?;
        let port = port.parse().ok().filter(|&port: &u16| port != 0);
        let tls: TlsMode = config("tls")?
            .parse()
            .map_err(|e: String| invalid("config.tls", e))?;
        let ca_cert = match config("ca_cert") {
            Ok(pem) => {
                TrustAnchors::from_pem("config.ca_cert", &pem)?;
                Some(pem)
            }
            Err(_) => None,
        };
        // The driver checks a CA only together with the host name: a ca_cert that the mode
        // would ignore is refused rather than leave the caller believing it is checked.
        if ca_cert.is_some() && tls != TlsMode::VerifyIdentity {
            let message = format!(
                "is checked only with tls verify_identity; with tls {} the server's certificate \
                 is not verified: set tls to verify_identity or leave ca_cert out",
                tls.as_str()
            );
            return Err(invalid("config.ca_cert", message));
        }
        let host = config("host")?;
        // A path would make the driver use a Unix socket on *our* machine.
        if host.contains('/') {
            return Err(invalid("config.host", "must be a host name or IP address"));
        }
        Ok(MysqlSettings {
            host,
            port: port.ok_or_else(|| invalid("config.port", "must be a number from 1 to 65535"))?,
            username: config("username")?,
            // Not trimmed: spaces may be part of a password.
            password: match setup.credential("password") {
                Some(password) if !password.expose_secret().is_empty() => password.clone(),
                _ => return Err(invalid("credentials.password", "is required")),
            },
            tls,
            ca_cert,
            user_pattern: config("user_pattern").ok(),
            connect_timeout,
        })
    }
}

/// What a setup gives up of verified TLS, for the caller to see with the integration. Read from
/// the stored config alone: an unknown mode (which a check would refuse) warns of nothing.
pub fn setup_warnings(setup: &Setup) -> Vec<String> {
    let Some(Ok(mode)) = setup.config("tls").map(|mode| mode.trim().parse()) else {
        return Vec::new();
    };
    let warning = match mode {
        TlsMode::Disabled => {
            "tls disabled: the password and all data cross the network unencrypted"
        }
        TlsMode::Preferred => {
            "tls preferred: the connection silently falls back to no encryption when the server \
             offers none, and the server's certificate is not verified"
        }
        TlsMode::Required => {
            "tls required: the server's certificate is not verified, so a middleman can pose as \
             the server"
        }
        TlsMode::VerifyIdentity => return Vec::new(),
    };
    vec![warning.to_string()]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::credentials::Credentials;

    fn pairs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn read(config: &[(&str, &str)]) -> Result<MysqlSettings, ConnectorError> {
        let credentials: Credentials = pairs(&[("password", " pw ")]).into_iter().collect();
        let setup = Setup::check(SETUP_FIELDS, pairs(config), credentials)?;
        MysqlSettings::from_setup(&setup, Duration::from_secs(3))
    }

    fn field_of(result: Result<MysqlSettings, ConnectorError>) -> String {
        match result {
            Err(ConnectorError::InvalidSetup { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_checked_setup_with_its_defaults() {
        let read = read(&[("host", "db.internal"), ("username", "oblique")]).unwrap();
        assert_eq!((read.port, read.tls), (3306, TlsMode::VerifyIdentity));
        assert_eq!((read.ca_cert, read.user_pattern), (None, None));
        assert_eq!(read.password.expose_secret(), " pw ");

        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
        let pem = ca.cert.pem();
        let read = self::read(&[
            ("host", "h"),
            ("username", "u"),
            ("ca_cert", &pem),
            ("user_pattern", "app\\_%"),
        ])
        .unwrap();
        assert_eq!(read.ca_cert.as_deref(), Some(pem.trim()));
        assert_eq!(read.user_pattern.as_deref(), Some("app\\_%"));
    }

    #[test]
    fn names_the_field_of_each_bad_value() {
        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
        let pem = ca.cert.pem();
        for (key, value, tls) in [
            ("port", "0", "verify_identity"),
            ("port", "x", "verify_identity"),
            ("tls", "verify_ca", "verify_ca"),
            ("host", "/run/mysqld/mysqld.sock", "verify_identity"),
            (
                "ca_cert",
                "-----BEGIN CERTIFICATE-----\nnot base64\n",
                "verify_identity",
            ),
            ("ca_cert", pem.as_str(), "required"),
            ("ca_cert", pem.as_str(), "preferred"),
        ] {
            let mut config = vec![("host", "h"), ("username", "u"), ("tls", tls)];
            config.retain(|(name, _)| *name != key);
            config.push((key, value));
            assert_eq!(
                field_of(read(&config)),
                format!("config.{key}"),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn warns_of_every_mode_that_does_not_verify_the_server() {
        let warnings = |tls: &str| {
            setup_warnings(&Setup {
                config: BTreeMap::from([("tls".to_string(), tls.to_string())]),
                credentials: Credentials::default(),
            })
        };
        for (mode, expected) in [
            ("disabled", Some("unencrypted")),
            ("preferred", Some("falls back")),
            ("required", Some("not verified")),
            ("verify_identity", None),
            ("nonsense", None),
        ] {
            let got = warnings(mode);
            match expected {
                Some(text) => assert!(got.len() == 1 && got[0].contains(text), "{mode}: {got:?}"),
                None => assert!(got.is_empty(), "{mode}: {got:?}"),
            }
        }
    }
}
