//! The setup form of the `postgres` integration type, and reading a checked setup into settings.

use std::time::Duration;

use super::settings::PostgresSettings;
use crate::connectors::setup::invalid;
use crate::connectors::{ConnectorError, Setup, SetupField};

const fn field(
    name: &'static str,
    description: &'static str,
    required: bool,
    secret: bool,
    default: Option<&'static str>,
) -> SetupField {
    SetupField {
        name,
        description,
        required,
        secret,
        default,
    }
}

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
        "disable, prefer, require or verify-full (as in libpq)",
        false,
        false,
        Some("prefer"),
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
                Some(password) if !password.is_empty() => password.to_string(),
                _ => return Err(invalid("credentials.password", "is required")),
            },
            sslmode: config("sslmode")?
                .parse()
                .map_err(|e: String| invalid("config.sslmode", e))?,
            role_pattern: config("role_pattern").ok(),
            connect_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::postgres::SslMode;
    use crate::connectors::postgres::test_cluster::{PASSWORD, assert_invalid};

    #[test]
    fn reads_a_checked_setup() {
        let pairs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let credentials = pairs(&[("password", PASSWORD)]);
        let config = pairs(&[("host", "db.internal"), ("username", "oblique")]);
        let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
        let read = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).unwrap();
        assert_eq!((read.port, read.database.as_str()), (5432, "postgres"));
        assert_eq!((read.sslmode, read.role_pattern), (SslMode::Prefer, None));
        assert_eq!(read.password, PASSWORD);

        let config = pairs(&[
            ("host", "h"),
            ("username", "u"),
            ("role_pattern", "app\\_%"),
        ]);
        let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
        let read = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).unwrap();
        assert_eq!(read.role_pattern.as_deref(), Some("app\\_%"));

        for (key, value) in [("port", "0"), ("port", "x"), ("sslmode", "allow")] {
            let config = pairs(&[("host", "h"), ("username", "u"), (key, value)]);
            let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
            let result = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).map(drop);
            assert_invalid(result, &format!("config.{key}"), "");
        }
    }
}
