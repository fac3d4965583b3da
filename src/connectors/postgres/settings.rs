//! How to reach one PostgreSQL cluster, as read from an integration's setup.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::connectors::tls::TrustAnchors;

/// How to reach one PostgreSQL cluster.
#[derive(Clone)]
pub struct PostgresSettings {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub username: String,
    /// Secret: never logged, never in errors, hidden by `Debug`.
    pub password: SecretString,
    pub sslmode: SslMode,
    /// The setup's `ca_cert`: what the server's certificate must be signed by (the platform's
    /// roots when absent). With it, `prefer` and `require` verify the chain too, as libpq does
    /// when it has a root certificate.
    pub ca_cert: Option<TrustAnchors>,
    /// `LIKE` pattern restricting which roles are listed.
    pub role_pattern: Option<String>,
    /// Budget for the whole handshake (DNS, TCP, TLS, authentication) and for each answer
    /// awaited from the server afterwards (a query's result, a page of rows).
    pub connect_timeout: Duration,
}

impl fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &"***")
            .field("sslmode", &self.sslmode)
            .field("ca_cert", &self.ca_cert)
            .field("role_pattern", &self.role_pattern)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// The libpq `sslmode` values Oblique supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub const ALL: [SslMode; 5] = [
        SslMode::Disable,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| {
                format!("unknown sslmode {s:?}: expected disable, prefer, require, verify-ca or verify-full")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sslmode_and_hides_the_password() {
        for mode in SslMode::ALL {
            assert_eq!(mode.as_str().parse::<SslMode>(), Ok(mode));
        }
        let error = "allow".parse::<SslMode>().unwrap_err();
        assert!(
            error.contains("disable, prefer, require, verify-ca or verify-full"),
            "{error}"
        );
        let settings = PostgresSettings {
            host: "db".into(),
            port: 5432,
            database: "postgres".into(),
            username: "oblique".into(),
            password: "s3cret-Pw-1f9c".into(),
            sslmode: SslMode::Require,
            ca_cert: None,
            role_pattern: None,
            connect_timeout: Duration::from_secs(1),
        };
        let debug = format!("{settings:?}");
        assert!(
            debug.contains("***") && !debug.contains("s3cret"),
            "{debug}"
        );
    }
}
