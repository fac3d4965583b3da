//! Which PostgreSQL to use: DATABASE_URL, or an embedded one in the data directory.

use std::path::Path;

use anyhow::Context;
use diesel_async::RunQueryDsl;

use crate::db::embedded::EmbeddedPostgres;

/// The embedded server's database for Oblique's own tables.
const EMBEDDED_DATABASE: &str = "oblique";

/// A database URL, and the embedded server behind it when there is one (stopped on drop).
pub struct Database {
    pub url: String,
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// `owner`: this process stops the embedded server when done, even one it found running
    /// (left behind by a killed `serve`). Short commands pass false, so that they never stop
    /// the server of a `serve` running beside them.
    pub async fn resolve(
        database_url: Option<&str>,
        data_dir: &Path,
        owner: bool,
    ) -> anyhow::Result<Self> {
        if let Some(url) = database_url {
            return Ok(Database {
                url: url.to_string(),
                embedded: None,
            });
        }
        super::serve::ensure_data_dir(data_dir)?;
        let pg_dir = data_dir.join("pg");
        let mut embedded = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&pg_dir))
            .await?
            .context("starting the embedded PostgreSQL (set DATABASE_URL to use another)")?;
        if owner {
            embedded.take_ownership();
        }
        create_database_if_missing(&embedded.url("postgres"), EMBEDDED_DATABASE).await?;
        Ok(Database {
            url: embedded.url(EMBEDDED_DATABASE),
            embedded: Some(embedded),
        })
    }

    /// Stops the embedded server if this process owns it.
    pub async fn shutdown(self) {
        if let Some(mut embedded) = self.embedded {
            let stopped = tokio::task::spawn_blocking(move || embedded.stop()).await;
            if let Ok(Err(error)) = stopped {
                tracing::warn!(%error, "stopping the embedded PostgreSQL");
            }
        }
    }
}

/// Creates `name` on the server of `admin_url` unless it exists.
pub async fn create_database_if_missing(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = crate::db::connect::establish(admin_url)
        .await
        .context("connecting to PostgreSQL")?;
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(&mut conn)
            .await?;
    if !found.exists {
        // Identifiers cannot be bound; `name` is one of our constants, quoted all the same.
        diesel::sql_query(format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating database {name}"))?;
        tracing::info!(database = name, "created database");
    }
    Ok(())
}
