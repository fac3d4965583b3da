//! Opening a connection to the cluster a setup describes, and checking that setup.

use secrecy::ExposeSecret;
use tokio_postgres::error::{DbError, SqlState};
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::errors::{map_error, target, timed_out};
use super::settings::{PostgresSettings, SslMode};
use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;
use crate::connectors::tls::{Verification, client_config};

/// Connects and spawns the connection task on tokio; the task ends when the client is dropped.
pub async fn connect(settings: &PostgresSettings) -> Result<Client, ConnectorError> {
    let config = build_config(settings)?;
    let tls = match verification(settings) {
        None => None,
        Some(verification) => Some(MakeRustlsConnect::new(client_config(&verification)?)),
    };
    let target = target(settings);
    let attempt = async {
        let client = match tls {
            None => {
                let (client, connection) = config.connect(NoTls).await?;
                spawn_connection(connection, target.clone());
                client
            }
            Some(tls) => {
                let (client, connection) = config.connect(tls).await?;
                spawn_connection(connection, target.clone());
                client
            }
        };
        Ok::<_, tokio_postgres::Error>(client)
    };
    // tokio-postgres bounds only the TCP connect: a peer that accepts and then stays silent, or
    // a slow DNS server, would otherwise hang validation forever.
    answer(settings, attempt)
        .await?
        .map_err(|error| map_error(&error, settings))
}

/// What the server's certificate must satisfy, as libpq checks it: with a root certificate
/// (`ca_cert`) even `prefer` and `require` verify the chain; `None` for no TLS at all.
fn verification(settings: &PostgresSettings) -> Option<Verification> {
    let anchors = settings.ca_cert.clone();
    Some(match settings.sslmode {
        SslMode::Disable => return None,
        SslMode::Prefer | SslMode::Require => match anchors {
            Some(anchors) => Verification::Chain(Some(anchors)),
            None => Verification::EncryptOnly,
        },
        SslMode::VerifyCa => Verification::Chain(anchors),
        SslMode::VerifyFull => Verification::Full(anchors),
    })
}

/// Awaits one answer from the server. tokio-postgres has no read timeout: without this a server
/// that stops answering mid-query would hang a sync forever. The outer error is the timeout, the
/// inner one what the server or driver reported, for the caller to map.
pub(super) async fn answer<T>(
    settings: &PostgresSettings,
    request: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<Result<T, tokio_postgres::Error>, ConnectorError> {
    tokio::time::timeout(settings.connect_timeout, request)
        .await
        .map_err(|_| timed_out(settings))
}

/// Checks that the settings work: the role can log in and read `pg_roles` and `pg_auth_members`.
pub async fn validate(settings: &PostgresSettings) -> Result<(), ConnectorError> {
    let client = connect(settings).await?;
    for sql in [
        "SELECT count(*) FROM pg_catalog.pg_roles",
        "SELECT count(*) FROM pg_catalog.pg_auth_members",
    ] {
        match answer(settings, client.query_one(sql, &[])).await? {
            Ok(_) => {}
            Err(error) if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                let reason = error
                    .as_db_error()
                    .map(DbError::message)
                    .unwrap_or_default();
                let message = format!("the role cannot read pg_roles / pg_auth_members: {reason}");
                return Err(invalid("config.username", message));
            }
            Err(error) => return Err(map_error(&error, settings)),
        }
    }
    Ok(())
}

fn build_config(settings: &PostgresSettings) -> Result<Config, ConnectorError> {
    // Empty values would make the driver fall back to the service's own OS user name.
    for (field, value) in [
        ("config.host", &settings.host),
        ("config.username", &settings.username),
        ("config.database", &settings.database),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(field, "must not be empty"));
        }
    }
    // A host starting with '/' makes tokio-postgres use a Unix socket on *our* machine, where
    // local trust authentication could let a caller in without any password.
    if settings.host.starts_with('/') {
        return Err(invalid("config.host", "must be a host name or IP address"));
    }
    let mut config = Config::new();
    config
        .host(&settings.host)
        .port(settings.port)
        .dbname(&settings.database)
        .user(&settings.username)
        .application_name("oblique")
        .connect_timeout(settings.connect_timeout)
        .ssl_mode(match settings.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
    // tokio-postgres keeps its own copy (not wiped) for as long as the connection attempt lasts.
    let password = settings.password.expose_secret();
    if !password.is_empty() {
        config.password(password);
    }
    Ok(config)
}

fn spawn_connection<F>(connection: F, target: String)
where
    F: Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%target, ?error, "PostgreSQL connection ended with an error");
        }
    });
}

#[cfg(test)]
mod tests;
