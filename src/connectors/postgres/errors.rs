//! Turning driver errors into [`ConnectorError`]s that name what the caller should fix.

use std::error::Error as StdError;

use tokio_postgres::error::{DbError, SqlState};

use super::settings::PostgresSettings;
use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;
use crate::connectors::tls::{is_untrusted_issuer, is_wrong_name, untrusted_issuer};

/// `host:port`, how errors name the server.
pub(super) fn target(settings: &PostgresSettings) -> String {
    format!("{}:{}", settings.host, settings.port)
}

pub(super) fn timed_out(settings: &PostgresSettings) -> ConnectorError {
    let (target, seconds) = (target(settings), settings.connect_timeout.as_secs_f64());
    ConnectorError::Unreachable(format!(
        "cannot reach PostgreSQL at {target}: no answer within {seconds}s"
    ))
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

/// Maps an error from connecting or from a query. Callers that expect a particular SQLSTATE
/// (a missing privilege while pushing, say) check for it before falling back to this.
pub(super) fn map_error(
    error: &tokio_postgres::Error,
    settings: &PostgresSettings,
) -> ConnectorError {
    if let Some(db) = error.as_db_error() {
        return map_db_error(db);
    }
    let chain = causes(error);
    let reason = chain.last().map(|e| e.to_string()).unwrap_or_default();
    if let Some(tls) = chain.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
        return tls_error(tls, settings);
    }
    // The driver reports these with plain string causes, hence the text comparison.
    match reason.as_str() {
        "server does not support TLS" => {
            let mode = settings.sslmode.as_str();
            let message = format!(
                "sslmode {mode} needs TLS, which the server does not offer (or it is not \
                 PostgreSQL: check config.host and config.port)"
            );
            return invalid("config.sslmode", message);
        }
        "password missing" => {
            return invalid(
                "credentials.password",
                "the server asks for a password; none is set",
            );
        }
        // Something answered, but not in PostgreSQL's protocol: another service at that port.
        "bytes remaining on stream" | "unexpected message from server" => {
            let target = target(settings);
            return invalid(
                "config.port",
                format!(
                    "the server at {target} answered, but not as PostgreSQL does ({reason}); \
                     check config.host and config.port"
                ),
            );
        }
        _ => {}
    }
    if error.is_closed() || chain.iter().any(|e| e.is::<std::io::Error>()) {
        let target = target(settings);
        return ConnectorError::Unreachable(format!(
            "cannot reach PostgreSQL at {target}: {reason}"
        ));
    }
    match chain.len() {
        1 => ConnectorError::Remote(format!("PostgreSQL: {error}")),
        _ => ConnectorError::Remote(format!("PostgreSQL: {error}: {reason}")),
    }
}

/// A failed TLS handshake, blamed on the setup field a person should look at first.
fn tls_error(tls: &rustls::Error, settings: &PostgresSettings) -> ConnectorError {
    let failed = format!("TLS handshake failed: {tls}");
    if is_untrusted_issuer(tls) {
        untrusted_issuer(&failed, settings.ca_cert.is_some())
    } else if is_wrong_name(tls) {
        let host = &settings.host;
        invalid(
            "config.host",
            format!(
                "{failed}: the server's certificate does not name {host:?}; connect by a name \
                 it holds (sslmode verify-ca skips this check)"
            ),
        )
    } else {
        invalid("config.sslmode", failed)
    }
}

fn map_db_error(db: &DbError) -> ConnectorError {
    let message = db.message();
    match db.code() {
        &SqlState::INVALID_PASSWORD => invalid(
            "credentials.password",
            format!("authentication failed: {message}"),
        ),
        // Also used for unknown or NOLOGIN roles and for pg_hba.conf rejections.
        &SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            let field = if message.contains("does not exist") || message.contains("not permitted") {
                "config.username"
            } else if message.contains("pg_hba.conf") && message.contains("no encryption") {
                "config.sslmode"
            } else {
                "credentials.password"
            };
            invalid(field, format!("not allowed to connect: {message}"))
        }
        &SqlState::INVALID_CATALOG_NAME => invalid("config.database", message),
        // At connect time: CONNECT on the database revoked; while listing: a catalog the role
        // may not read. Either way the role in the setup is the one to change.
        &SqlState::INSUFFICIENT_PRIVILEGE => {
            invalid("config.username", format!("permission denied: {message}"))
        }
        &SqlState::CANNOT_CONNECT_NOW
        | &SqlState::TOO_MANY_CONNECTIONS
        | &SqlState::ADMIN_SHUTDOWN
        | &SqlState::CRASH_SHUTDOWN => ConnectorError::Unreachable(format!(
            "PostgreSQL is not accepting connections: {message}"
        )),
        code => ConnectorError::Remote(format!("PostgreSQL error {}: {message}", code.code())),
    }
}
