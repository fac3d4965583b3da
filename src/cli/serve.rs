//! `oblique serve` and `oblique migrate`: from flags to a running service.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use diesel_async::{AsyncConnection, RunQueryDsl};
use secrecy::ExposeSecret;

use super::{GlobalArgs, ServeArgs, admin_token_file, database::Database, keys};
use crate::auth::{Principal, Role, token};
use crate::console::Console;
use crate::context::AppContext;
use crate::crypto::Keys;
use crate::db::{self, tokens};
use crate::private_file::write_private_file;
use crate::server::{self, TlsFiles};

pub use super::admin_token_file::ADMIN_TOKEN_FILE;

pub async fn serve(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<()> {
    // Before anything starts: a refused address must not leave a database running.
    check_listen_is_protected(
        args.listen,
        args.tls_cert.is_some(),
        args.allow_insecure_listen,
    )?;
    if let Some(console) = args.console_listen {
        check_console_is_protected(console, args.tls_cert.is_some(), args.allow_insecure_listen)?;
    }
    super::database::ensure_data_dir(&global.data_dir)?;
    let database = resolve(global, true).await?;
    let result = serve_on(global, args, &database).await;
    database.shutdown().await;
    result
}

/// The database of the global flags; `owner`: see `Database::resolve`.
pub async fn resolve(global: &GlobalArgs, owner: bool) -> anyhow::Result<Database> {
    let url = global.database_url.as_deref();
    let migration_url = global.migration_database_url.as_deref();
    Database::resolve(url, migration_url, &global.data_dir, owner).await
}

async fn serve_on(
    global: &GlobalArgs,
    args: &ServeArgs,
    database: &Database,
) -> anyhow::Result<()> {
    database.migrate().await?;
    let database_url = &database.url;
    let timeouts = db::SessionTimeouts {
        statement: Duration::from_secs(args.db_statement_timeout),
        lock: Duration::from_secs(args.db_lock_timeout),
    };
    let pool = db::connect_pool_with(database_url, args.db_pool_size, timeouts)?;
    let keys = load_secret_key(global, &pool).await?;
    let mut ctx = AppContext::new(pool, keys, database_url.to_string());
    tokio::spawn(keys::watch::follow_until_shutdown(
        ctx.pool.clone(),
        ctx.secret_key.clone(),
        ctx.shutdown.clone(),
    ));
    ctx.engine.workers = args.sync_workers;
    ctx.engine.lease = Duration::from_secs(args.sync_lease);
    create_first_admin_token(&ctx, &global.data_dir).await?;
    admin_token_file::retire_when_superseded(&mut *ctx.pool.get().await?, &global.data_dir).await?;

    let tls = args
        .tls_cert
        .clone()
        .zip(args.tls_key.clone())
        .map(|(cert, key)| TlsFiles {
            cert,
            key,
            client_ca: args.tls_client_ca.clone(),
        });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    if tls.is_none() && !is_loopback(args.listen) {
        tracing::warn!(address = %args.listen, "serving plaintext gRPC beyond this machine (--allow-insecure-listen): tokens and credentials cross the network in clear");
    }
    tracing::info!(
        address = %listener.local_addr()?,
        tls = tls.is_some(),
        mutual_tls = args.tls_client_ca.is_some(),
        "serving gRPC"
    );
    if let Some(address) = args.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("listening for metrics scrapes on {address}"))?;
        tracing::info!(address = %metrics.local_addr()?, "serving metrics at /metrics");
        tokio::spawn(server::metrics_endpoint::serve(ctx.clone(), metrics));
    }
    if let Some(address) = args.console_listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("listening for the console on {address}"))?;
        match &tls {
            // The gRPC port's certificate serves the console too (no client certificate asked).
            Some(files) => {
                let config = crate::console::tls::server_config(&files.cert, &files.key)?;
                tracing::info!(address = %listener.local_addr()?, "serving the console over HTTPS");
                let console = Console::new(ctx.clone(), true);
                tokio::spawn(crate::console::tls::serve(console, listener, config));
            }
            None => {
                tracing::info!(address = %listener.local_addr()?, "serving the console over HTTP");
                // Beyond loopback, a TLS-terminating proxy is in front: the browser speaks HTTPS.
                let console = Console::new(ctx.clone(), !is_loopback(address));
                tokio::spawn(crate::console::serve(console, listener));
            }
        }
    }
    // The server stops on a signal, or when the embedded PostgreSQL is gone for good: then
    // this process exits non-zero for its supervisor (systemd, Kubernetes) to act on.
    let gave_up = Arc::new(Mutex::new(None));
    let stop = {
        let gave_up = gave_up.clone();
        let supervisor = database.supervisor();
        async move {
            let Some(supervisor) = supervisor else {
                return shutdown_signal().await;
            };
            tokio::select! {
                () = shutdown_signal() => {}
                error = supervisor => {
                    tracing::error!(error = format!("{error:#}"), "stopping: the database is gone");
                    *gave_up.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                }
            }
        }
    };
    server::run(ctx, listener, tls.as_ref(), stop).await?;
    if let Some(error) = gave_up.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(error);
    }
    tracing::info!("stopped");
    Ok(())
}

pub async fn migrate(global: &GlobalArgs) -> anyhow::Result<()> {
    let database = resolve(global, false).await?;
    let result = database.migrate().await;
    database.shutdown().await;
    let applied = result?;
    tracing::info!(applied, "database is up to date");
    Ok(())
}

/// Plaintext gRPC carries bearer tokens and integration credentials in clear: it is served on a
/// loopback address only, unless TLS is configured or the operator explicitly allows it (a
/// TLS-terminating proxy in front, on a private network).
pub(super) fn check_listen_is_protected(
    listen: SocketAddr,
    tls: bool,
    allow_insecure: bool,
) -> anyhow::Result<()> {
    if tls || allow_insecure || is_loopback(listen) {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve plaintext gRPC on {listen}: bearer tokens and integration credentials \
         would cross the network unencrypted. Configure TLS (--tls-cert and --tls-key), listen \
         on a loopback address (e.g. 127.0.0.1:50051), or pass --allow-insecure-listen when a \
         TLS-terminating proxy is in front"
    )
}

/// The console carries tokens (at sign-in) and session cookies: plaintext on loopback only,
/// unless it serves TLS (with --tls-cert) or the operator says a TLS-terminating proxy is in
/// front.
fn check_console_is_protected(
    listen: SocketAddr,
    tls: bool,
    allow_insecure: bool,
) -> anyhow::Result<()> {
    if tls || allow_insecure || is_loopback(listen) {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve the console over plain HTTP on {listen}: API tokens and session \
         cookies would cross the network unencrypted. Configure TLS (--tls-cert and --tls-key \
         serve the console too), listen on a loopback address (e.g. 127.0.0.1:8080), or pass \
         --allow-insecure-listen when a TLS-terminating proxy is in front"
    )
}

/// Also `::ffff:127.0.0.1`, which IPv6 sockets use for IPv4 loopback.
fn is_loopback(address: SocketAddr) -> bool {
    address.ip().to_canonical().is_loopback()
}

/// OBLIQUE_SECRET_KEY, or the key file (made on first start against an empty database),
/// checked against the key the database records: with another key this refuses to start.
pub async fn load_secret_key(global: &GlobalArgs, pool: &db::Pool) -> anyhow::Result<Keys> {
    let mut conn = pool.get().await?;
    keys::startup::establish(&mut conn, keys::key_source(global)).await
}

/// On an empty database, makes an admin token so that someone can call at all. The token goes to
/// a 0600 file; the log says where, never what. The file is in place before the token commits:
/// a crash in between leaves a file whose token never existed, and the next start makes another
/// one, so the first admin token can never be lost. Replicas starting together take turns.
async fn create_first_admin_token(ctx: &AppContext, data_dir: &Path) -> anyhow::Result<()> {
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    let mut conn = ctx.pool.get().await?;
    let created = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            diesel::sql_query(format!(
                "SELECT pg_advisory_xact_lock({FIRST_TOKEN_LOCK_KEY})"
            ))
            .execute(conn)
            .await?;
            if tokens::any_exist(conn).await? {
                return Ok(false);
            }
            let secret = token::create(conn, "admin", Role::Admin, &Principal::system()).await?;
            let text = format!("{}\n", secret.expose_secret());
            write_private_file(&path, &text, None)
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(true)
        })
        .await?;
    if created {
        tracing::info!(path = %path.display(), "created the first admin token (name \"admin\"); it is in this file");
    }
    Ok(())
}

/// Arbitrary but fixed: replicas starting on an empty database make one first token.
const FIRST_TOKEN_LOCK_KEY: i64 = 0x0b11_0e02;

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight calls");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_beyond_loopback_needs_tls_or_the_explicit_flag() {
        let address = |text: &str| text.parse::<SocketAddr>().unwrap();
        for loopback in ["127.0.0.1:1", "[::1]:1", "[::ffff:127.0.0.1]:1"] {
            assert!(check_listen_is_protected(address(loopback), false, false).is_ok());
        }
        for network in ["0.0.0.0:1", "[::]:1", "10.1.2.3:1"] {
            let refused = check_listen_is_protected(address(network), false, false);
            let message = format!("{:#}", refused.unwrap_err());
            assert!(message.contains("--allow-insecure-listen"), "{message}");
            assert!(check_listen_is_protected(address(network), true, false).is_ok());
            assert!(check_listen_is_protected(address(network), false, true).is_ok());
        }
    }

    #[test]
    fn the_console_beyond_loopback_needs_tls_or_the_explicit_flag() {
        let address = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert!(check_console_is_protected(address("127.0.0.1:8080"), false, false).is_ok());
        let refused = check_console_is_protected(address("0.0.0.0:8080"), false, false);
        let message = format!("{:#}", refused.unwrap_err());
        assert!(message.contains("--allow-insecure-listen"), "{message}");
        assert!(check_console_is_protected(address("0.0.0.0:8080"), true, false).is_ok());
        assert!(check_console_is_protected(address("0.0.0.0:8080"), false, true).is_ok());
    }
}
