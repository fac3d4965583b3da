//! `oblique serve` and `oblique migrate`: from flags to a running service.

use std::{fs, os::unix::fs::DirBuilderExt, os::unix::fs::OpenOptionsExt, path::Path};

use anyhow::Context;
use diesel_async::{AsyncConnection, RunQueryDsl};
use secrecy::ExposeSecret;
use std::io::Write;

use super::{GlobalArgs, ServeArgs, database::Database, keys};
use crate::auth::{Principal, Role, token};
use crate::context::AppContext;
use crate::crypto::Keys;
use crate::db::{self, tokens};
use crate::server::{self, TlsFiles};

/// The first admin token's file, in the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

pub async fn serve(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<()> {
    ensure_data_dir(&global.data_dir)?;
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
    let pool = db::connect_pool(database_url, args.db_pool_size)?;
    let keys = load_secret_key(global, &pool).await?;
    let mut ctx = AppContext::new(pool, keys, database_url.to_string());
    tokio::spawn(keys::watch::follow_until_shutdown(
        ctx.pool.clone(),
        ctx.secret_key.clone(),
        ctx.shutdown.clone(),
    ));
    ctx.engine.workers = args.sync_workers;
    create_first_admin_token(&ctx, &global.data_dir).await?;

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
    tracing::info!(
        address = %listener.local_addr()?,
        tls = tls.is_some(),
        mutual_tls = args.tls_client_ca.is_some(),
        "serving gRPC"
    );
    server::run(ctx, listener, tls.as_ref(), shutdown_signal()).await?;
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

/// OBLIQUE_SECRET_KEY, or the key file (made on first start against an empty database),
/// checked against the key the database records: with another key this refuses to start.
pub async fn load_secret_key(global: &GlobalArgs, pool: &db::Pool) -> anyhow::Result<Keys> {
    let mut conn = pool.get().await?;
    keys::startup::establish(&mut conn, keys::key_source(global)).await
}

/// Creates the data directory. Others may traverse it but not list it: the embedded PostgreSQL
/// runs as the `postgres` user and must reach `pg/` inside, while the key and token files are
/// 0600 on their own.
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))
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
            write_private_file(&path, secret.expose_secret())?;
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

/// Writes `text` to a new 0600 file beside `path`, then renames it over `path`, so a reader
/// never sees it half written.
fn write_private_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("writing {}", partial.display()))?;
    writeln!(file, "{text}")?;
    file.sync_all()?;
    fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

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
