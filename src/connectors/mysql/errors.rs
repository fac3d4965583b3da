//! Turning driver errors into [`ConnectorError`]s that name what the caller should fix.

use std::error::Error as StdError;

use mysql_async::{DriverError, Error, IoError, ServerError};

use super::settings::MysqlSettings;
use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;
use crate::connectors::tls::{is_untrusted_issuer, is_wrong_name, untrusted_issuer};

/// Server error codes (MySQL's and MariaDB's, which share the low ones).
pub(super) mod code {
    pub const ACCESS_DENIED: u16 = 1045;
    /// MariaDB's "Access denied" without a password, also what a GRANT without ADMIN OPTION gets.
    pub const ACCESS_DENIED_NO_PASSWORD: u16 = 1698;
    pub const DB_ACCESS_DENIED: u16 = 1044;
    pub const SPECIFIC_ACCESS_DENIED: u16 = 1227;
    pub const TABLE_ACCESS_DENIED: u16 = 1142;
    pub const COLUMN_ACCESS_DENIED: u16 = 1143;
    pub const HOST_NOT_PRIVILEGED: u16 = 1130;
    pub const TOO_MANY_CONNECTIONS: u16 = 1040;
    pub const SERVER_SHUTDOWN: u16 = 1053;
    pub const MUST_CHANGE_PASSWORD: u16 = 1820;
    pub const MUST_CHANGE_PASSWORD_LOGIN: u16 = 1862;
    pub const MYSQL_ACCOUNT_LOCKED: u16 = 3118;
    pub const MARIADB_ACCOUNT_LOCKED: u16 = 4151;
    /// `CREATE USER` / `CREATE ROLE` of a name that exists.
    pub const CANNOT_USER: u16 = 1396;
    /// MariaDB: GRANT of a role that does not exist.
    pub const INVALID_ROLE: u16 = 1959;
    /// GRANT to an account that does not exist.
    pub const NO_SUCH_USER: u16 = 1133;
    /// MySQL 8: a role or account that does not exist.
    pub const UNKNOWN_AUTHID: u16 = 3523;
}

/// `host:port`, how errors name the server.
pub(super) fn target(settings: &MysqlSettings) -> String {
    format!("{}:{}", settings.host, settings.port)
}

pub(super) fn timed_out(settings: &MysqlSettings) -> ConnectorError {
    let (target, seconds) = (target(settings), settings.connect_timeout.as_secs_f64());
    ConnectorError::Unreachable(format!(
        "cannot reach MySQL at {target}: no answer within {seconds}s"
    ))
}

/// Whether the server refused for lack of a privilege.
pub(super) fn is_missing_privilege(server: &ServerError) -> bool {
    use code::*;
    matches!(
        server.code,
        ACCESS_DENIED_NO_PASSWORD
            | DB_ACCESS_DENIED
            | SPECIFIC_ACCESS_DENIED
            | TABLE_ACCESS_DENIED
            | COLUMN_ACCESS_DENIED
            | ACCESS_DENIED
    )
}

/// The error and its causes. `io::Error::source` skips the error it wraps, so step into it with
/// `get_ref` instead: that is where tokio-rustls puts the `rustls::Error`.
fn causes<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut chain = vec![error];
    while let Some(&current) = chain.last().filter(|_| chain.len() < 16) {
        let wrapped = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
        match wrapped
            .map(|inner| inner as &(dyn StdError + 'static))
            .or_else(|| current.source())
        {
            Some(next) => chain.push(next),
            None => break,
        }
    }
    chain
}

/// Maps an error from connecting or from a query. Callers that expect a particular server code
/// (a missing privilege while pushing, say) check for it before falling back to this.
pub(super) fn map_error(error: &Error, settings: &MysqlSettings) -> ConnectorError {
    let target = target(settings);
    match error {
        Error::Server(server) => map_server_error(server, settings),
        Error::Driver(DriverError::NoClientSslFlagFromServer) => {
            let mode = settings.tls.as_str();
            invalid(
                "config.tls",
                format!("tls {mode} needs TLS, which the server at {target} does not offer"),
            )
        }
        Error::Driver(DriverError::ConnectionClosed) => ConnectorError::Unreachable(format!(
            "cannot reach MySQL at {target}: the connection was closed"
        )),
        Error::Driver(DriverError::CleartextPluginDisabled) => invalid(
            "config.username",
            "the server asks for the password in clear text (mysql_clear_password), which \
             Oblique never sends",
        ),
        Error::Io(io) => {
            let chain = causes(error);
            if let Some(tls) = chain.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
                return tls_error(tls, settings);
            }
            let reason = chain.last().map(|e| e.to_string()).unwrap_or_default();
            match io {
                IoError::Io(_) => {
                    ConnectorError::Unreachable(format!("cannot reach MySQL at {target}: {reason}"))
                }
                IoError::Tls(_) => invalid("config.tls", format!("cannot set up TLS: {reason}")),
            }
        }
        other => ConnectorError::Remote(format!("MySQL: {other}")),
    }
}

/// A failed TLS handshake, blamed on the setup field a person should look at first.
fn tls_error(tls: &rustls::Error, settings: &MysqlSettings) -> ConnectorError {
    let failed = format!("TLS handshake failed: {tls}");
    if is_untrusted_issuer(tls) {
        untrusted_issuer(&failed, settings.ca_cert.is_some())
    } else if is_wrong_name(tls) {
        let host = &settings.host;
        invalid(
            "config.host",
            format!(
                "{failed}: the server's certificate does not name {host:?}; connect by a name it holds"
            ),
        )
    } else {
        invalid("config.tls", failed)
    }
}

fn map_server_error(server: &ServerError, settings: &MysqlSettings) -> ConnectorError {
    use code::*;
    let message = &server.message;
    match server.code {
        ACCESS_DENIED | ACCESS_DENIED_NO_PASSWORD => invalid(
            "credentials.password",
            format!("authentication failed: {message}"),
        ),
        MUST_CHANGE_PASSWORD | MUST_CHANGE_PASSWORD_LOGIN => invalid(
            "credentials.password",
            format!("the password has expired: {message}"),
        ),
        HOST_NOT_PRIVILEGED | MYSQL_ACCOUNT_LOCKED | MARIADB_ACCOUNT_LOCKED => invalid(
            "config.username",
            format!("not allowed to connect: {message}"),
        ),
        DB_ACCESS_DENIED | SPECIFIC_ACCESS_DENIED | TABLE_ACCESS_DENIED | COLUMN_ACCESS_DENIED => {
            invalid(
                "config.username",
                format!(
                    "permission denied: {message}; the user {:?} needs SELECT on the mysql \
                     tables a sync reads (see the README)",
                    settings.username
                ),
            )
        }
        TOO_MANY_CONNECTIONS | SERVER_SHUTDOWN => {
            ConnectorError::Unreachable(format!("MySQL is not accepting connections: {message}"))
        }
        code => ConnectorError::Remote(format!("MySQL error {code}: {message}")),
    }
}
