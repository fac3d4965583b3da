//! The setup form of the `postgres` integration type, and reading a checked setup into settings.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::settings::{PostgresSettings, SslMode};
use crate::connectors::setup::{field, invalid};
use crate::connectors::tls::TrustAnchors;
use crate::connectors::{ConnectorError, Setup, SetupField};

/// The setup form of the `postgres` integration type.
pub const SETUP_FIELDS: &[SetupField] = &[
    field(
        "host",
        "Host name or IP address of the PostgreSQL server",
        true,
        false,
        None,
    ),
    field("port", "TCP port", false, false, Some("5432")),
    field(
        "database",
        "Database to connect to",
        false,
        false,
        Some("postgres"),
    ),
    field("username", "Role Oblique logs in as", true, false, None),
    field("password", "Password of that role", true, true, None),
    field(
        "sslmode",
        "disable, prefer, require, verify-ca or verify-full (as in libpq): verify-full checks \
         that the server's certificate is signed by a trusted CA and names the host, verify-ca \
         only the CA; require only encrypts (unless ca_cert is set: then it checks the CA too), \
         prefer also falls back to no TLS",
        false,
        false,
        Some("verify-full"),
    ),
    field(
        "ca_cert",
        "PEM certificate(s) of the CA that signed the server's certificate, trusted instead of \
         this machine's root CAs (as libpq's sslrootcert)",
        false,
        false,
        None,
    ),
    field(
        "role_pattern",
        "SQL LIKE pattern limiting which roles are synced",
        false,
        false,
        None,
    ),
];

/// The config fields that decide where the password is sent and how it is protected on the way.
/// Changing one of them without giving the password again would hand the stored one to a new
/// endpoint, so an update must carry the credentials too. Names that are not (yet) fields of
/// the form simply never change.
pub const CREDENTIAL_DESTINATION_FIELDS: &[&str] =
    &["host", "port", "database", "username", "sslmode", "ca_cert"];

impl PostgresSettings {
    /// Reads a setup checked against [`SETUP_FIELDS`]; `connect_timeout` comes from the caller.
    pub fn from_setup(setup: &Setup, connect_timeout: Duration) -> Result<Self, ConnectorError> {
        let config = |name: &str| match setup.config(name).map(str::trim) {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err(invalid(format!("config.{name}"), "is required")),
        };
        let port = config("port")?;
        let port = port.parse().ok().filter(|&port: &u16| port != 0);
        Ok(PostgresSettings {
            host: config("host")?,
            port: port.ok_or_else(|| invalid("config.port", "must be a number from 1 to 65535"))?,
            database: config("database")?,
            username: config("username")?,
            // Not trimmed: spaces may be part of a password.
            password: match setup.credential("password") {
                Some(password) if !password.expose_secret().is_empty() => password.clone(),
                _ => return Err(invalid("credentials.password", "is required")),
            },
            sslmode: config("sslmode")?
                .parse()
                .map_err(|e: String| invalid("config.sslmode", e))?,
            ca_cert: match config("ca_cert") {
                Ok(pem) => Some(TrustAnchors::from_pem("config.ca_cert", &pem)?),
                Err(_) => None,
            },
            role_pattern: config("role_pattern").ok(),
            connect_timeout,
        })
    }
}

/// What a setup gives up of verified TLS, for the caller to see with the integration. Read from
/// the stored config alone: an unknown sslmode (which a check would refuse) warns of nothing.
pub fn setup_warnings(setup: &Setup) -> Vec<String> {
    let has_ca_cert = setup
        .config("ca_cert")
        .is_some_and(|pem| !pem.trim().is_empty());
    let Some(Ok(mode)) = setup.config("sslmode").map(|mode| mode.trim().parse()) else {
        return Vec::new();
    };
    let warning = match mode {
        SslMode::Disable => {
            "sslmode disable: the password and all data cross the network unencrypted"
        }
        SslMode::Prefer => {
            "sslmode prefer: the connection silently falls back to no encryption when the server \
             offers none, so the password may cross the network unencrypted"
        }
        SslMode::Require if !has_ca_cert => {
            "sslmode require without ca_cert: the server's certificate is not verified, so a \
             middleman can pose as the server"
        }
        SslMode::VerifyCa => {
            "sslmode verify-ca: the certificate is not checked against host, so any server with \
             a certificate from that CA is accepted"
        }
        SslMode::Require | SslMode::VerifyFull => return Vec::new(),
    };
    vec![warning.to_string()]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::connectors::postgres::SslMode;
    use crate::connectors::postgres::test_cluster::{PASSWORD, assert_invalid};
    use crate::credentials::Credentials;

    #[test]
    fn reads_a_checked_setup() {
        let pairs = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let credentials: Credentials = pairs(&[("password", PASSWORD)]).into_iter().collect();
        let config = pairs(&[("host", "db.internal"), ("username", "oblique")]);
        let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
        let read = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).unwrap();
        assert_eq!((read.port, read.database.as_str()), (5432, "postgres"));
        assert_eq!(
            (read.sslmode, read.role_pattern),
            (SslMode::VerifyFull, None)
        );
        assert!(read.ca_cert.is_none());
        assert!(setup_warnings(&setup).is_empty());
        assert_eq!(read.password.expose_secret(), PASSWORD);

        let config = pairs(&[
            ("host", "h"),
            ("username", "u"),
            ("role_pattern", "app\\_%"),
        ]);
        let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
        let read = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).unwrap();
        assert_eq!(read.role_pattern.as_deref(), Some("app\\_%"));

        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
        let config = pairs(&[
            ("host", "h"),
            ("username", "u"),
            ("ca_cert", &ca.cert.pem()),
        ]);
        let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
        let read = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).unwrap();
        assert!(read.ca_cert.is_some());

        for (key, value) in [
            ("port", "0"),
            ("port", "x"),
            ("sslmode", "allow"),
            ("ca_cert", "-----BEGIN CERTIFICATE-----\nnot base64\n"),
        ] {
            let config = pairs(&[("host", "h"), ("username", "u"), (key, value)]);
            let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
            let result = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).map(drop);
            assert_invalid(result, &format!("config.{key}"), "");
        }
    }

    #[test]
    fn warns_of_every_setup_that_does_not_verify_the_server() {
        let warnings = |sslmode: &str, ca_cert: bool| {
            let mut config = BTreeMap::from([("sslmode".to_string(), sslmode.to_string())]);
            if ca_cert {
                config.insert("ca_cert".into(), "PEM".into());
            }
            setup_warnings(&Setup {
                config,
                credentials: Credentials::default(),
            })
        };
        for (mode, ca_cert, expected) in [
            ("disable", false, Some("unencrypted")),
            ("prefer", true, Some("falls back")),
            ("require", false, Some("sslmode require without ca_cert")),
            ("require", true, None),
            ("verify-ca", true, Some("not checked against host")),
            ("verify-full", false, None),
            ("verify-full", true, None),
        ] {
            let got = warnings(mode, ca_cert);
            match expected {
                Some(text) => assert!(got.len() == 1 && got[0].contains(text), "{mode}: {got:?}"),
                None => assert!(got.is_empty(), "{mode}: {got:?}"),
            }
        }
    }
}
