//! How to reach one MySQL or MariaDB server, as read from an integration's setup.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

/// How to reach one MySQL or MariaDB server.
#[derive(Clone)]
pub struct MysqlSettings {
    pub host: String,
    pub port: u16,
    pub username: String,
    /// Secret: never logged, never in errors, hidden by `Debug`.
    pub password: SecretString,
    pub tls: TlsMode,
    /// The setup's `ca_cert` (PEM, already checked to hold certificates): what the server's
    /// certificate must be signed by with `verify_identity` (the platform's roots when absent).
    pub ca_cert: Option<String>,
    /// `LIKE` pattern on the user name restricting which accounts are listed.
    pub user_pattern: Option<String>,
    /// Budget for the whole handshake (DNS, TCP, TLS, authentication) and for each answer
    /// awaited from the server afterwards (a page of rows, a GRANT).
    pub connect_timeout: Duration,
}

impl fmt::Debug for MysqlSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &"***")
            .field("tls", &self.tls)
            .field("ca_cert", &self.ca_cert.as_ref().map(|_| "PEM"))
            .field("user_pattern", &self.user_pattern)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// How the connection is protected: MySQL's own `--ssl-mode` values (but `VERIFY_CA`), in the
/// setup's lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS: the password and every row cross the network as they are.
    Disabled,
    /// TLS when the server offers it, else none; the certificate is not checked.
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// TLS, with a certificate signed by a trusted CA that names the host connected to.
    VerifyIdentity,
}

impl TlsMode {
    pub const ALL: [TlsMode; 4] = [
        TlsMode::Disabled,
        TlsMode::Preferred,
        TlsMode::Required,
        TlsMode::VerifyIdentity,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Preferred => "preferred",
            TlsMode::Required => "required",
            TlsMode::VerifyIdentity => "verify_identity",
        }
    }
}

impl FromStr for TlsMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown tls mode {s:?}: expected disabled, preferred, required or \
                     verify_identity"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tls_modes_and_hides_the_password() {
        for mode in TlsMode::ALL {
            assert_eq!(mode.as_str().parse::<TlsMode>(), Ok(mode));
        }
        let error = "verify_ca".parse::<TlsMode>().unwrap_err();
        assert!(error.contains("verify_identity"), "{error}");
        let settings = MysqlSettings {
            host: "db".into(),
            port: 3306,
            username: "oblique".into(),
            password: "s3cret-Pw-77aa".into(),
            tls: TlsMode::Required,
            ca_cert: Some("-----BEGIN CERTIFICATE-----".into()),
            user_pattern: None,
            connect_timeout: Duration::from_secs(1),
        };
        let debug = format!("{settings:?}");
        assert!(
            debug.contains("***") && !debug.contains("s3cret") && !debug.contains("BEGIN"),
            "{debug}"
        );
    }
}
