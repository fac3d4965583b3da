//! Embedded diesel migrations, run under an advisory lock so replicas can start together.

use std::collections::HashSet;

use anyhow::Context;
use diesel::RunQueryDsl;
use diesel::migration::MigrationSource;
use diesel_async::{AsyncPgConnection, async_connection_wrapper::AsyncConnectionWrapper};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Arbitrary but fixed: every replica takes the same lock before migrating.
const MIGRATION_LOCK_KEY: i64 = 0x0b11_0e01;

type Wrapper = AsyncConnectionWrapper<AsyncPgConnection>;

/// Applies every pending migration; returns how many ran. With none pending it changes nothing,
/// so that a role that may only read the migrations table (the runtime role) can call it too.
pub async fn run_pending(database_url: &str) -> anyhow::Result<usize> {
    with_locked_connection(database_url, |conn| {
        if all_applied(conn) {
            return Ok(0);
        }
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
        for version in &applied {
            tracing::info!(%version, "applied migration");
        }
        Ok(applied.len())
    })
    .await
}

/// The versions this binary's migrations need that the database has not recorded: a database
/// restored from an older backup, or migrated by nobody yet. Read over a pooled connection, so
/// the health probe can ask it every few seconds.
pub async fn pending_versions(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<String>> {
    let query = diesel::sql_query("SELECT version FROM __diesel_schema_migrations");
    let applied: HashSet<String> = diesel_async::RunQueryDsl::load::<AppliedVersion>(query, conn)
        .await?
        .into_iter()
        .map(|row| row.version)
        .collect();
    Ok(embedded_versions()
        .into_iter()
        .filter(|version| !applied.contains(version))
        .collect())
}

#[derive(diesel::QueryableByName)]
struct AppliedVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn embedded_versions() -> Vec<String> {
    MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map(|all| all.iter().map(|m| m.name().version().to_string()).collect())
        // The migrations are compiled in; reading them cannot fail at run time.
        .unwrap_or_default()
}

/// Whether every embedded migration is recorded as applied. Any error (no table yet) is "no":
/// diesel's harness then sets things up and reports what is really wrong.
fn all_applied(conn: &mut Wrapper) -> bool {
    let Ok(rows) = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load::<AppliedVersion>(conn)
    else {
        return false;
    };
    let applied: HashSet<String> = rows.into_iter().map(|row| row.version).collect();
    let embedded = embedded_versions();
    !embedded.is_empty() && embedded.iter().all(|version| applied.contains(version))
}

/// Reverts every applied migration (used to prove each down.sql undoes its up.sql).
pub async fn revert_all(database_url: &str) -> anyhow::Result<usize> {
    with_locked_connection(database_url, |conn| {
        let reverted = conn
            .revert_all_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))?;
        Ok(reverted.len())
    })
    .await
}

/// Reverts the latest applied migration; answers its version.
pub async fn revert_last(database_url: &str) -> anyhow::Result<String> {
    with_locked_connection(database_url, |conn| {
        let version = conn
            .revert_last_migration(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("reverting the last migration: {e}"))?;
        Ok(version.to_string())
    })
    .await
}

/// The migration harness is synchronous; it runs on a blocking thread over diesel-async's
/// connection wrapper, holding a session advisory lock for the duration.
async fn with_locked_connection<T: Send + 'static>(
    database_url: &str,
    work: impl FnOnce(&mut Wrapper) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let conn = super::connect::establish(database_url)
        .await
        .context("connecting to the database")?;
    tokio::task::spawn_blocking(move || {
        let mut conn = Wrapper::from(conn);
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)?;
        let result = work(&mut conn);
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .execute(&mut conn)?;
        result
    })
    .await?
}
