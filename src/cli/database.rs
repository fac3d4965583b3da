//! Which PostgreSQL to use and as whom: DATABASE_URL (with an optional migration URL of the
//! tables' owner), or an embedded one in the data directory with an owner role that migrates and
//! a runtime role that serves.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

use crate::db::embedded::EmbeddedPostgres;
use crate::db::{connect, migrate, roles};

/// The embedded server's database for Oblique's own tables.
const EMBEDDED_DATABASE: &str = "oblique";
/// Embedded roles: the owner of the tables (migrations) and the role the service runs as.
const EMBEDDED_OWNER: &str = "oblique_owner";
const EMBEDDED_RUNTIME: &str = "oblique";
/// Who owned everything before the embedded server had roles.
const EMBEDDED_SUPERUSER: &str = "postgres";

/// Database URLs (they may hold passwords: never log them), and the embedded server behind them
/// when there is one (stopped on drop).
pub struct Database {
    /// What the service runs as.
    pub url: String,
    /// The tables' owner, when it is another role than `url`'s.
    pub migration_url: Option<String>,
    /// Shared with the supervisor that starts it again when it dies.
    pub embedded: Option<Arc<Mutex<EmbeddedPostgres>>>,
}

/// How often the supervisor looks at the embedded server, and how long it keeps trying to start
/// it again (a killed postmaster's backends hold its shared memory for a moment) before `serve`
/// gives up and exits.
const SUPERVISE_EVERY: Duration = Duration::from_secs(2);
const RESTART_ATTEMPTS: u32 = 15;

impl Database {
    /// `owner`: this process stops the embedded server when done, even one it found running
    /// (left behind by a killed `serve`). Short commands pass false, so that they never stop
    /// the server of a `serve` running beside them.
    pub async fn resolve(
        database_url: Option<&str>,
        migration_database_url: Option<&str>,
        data_dir: &Path,
        owner: bool,
    ) -> anyhow::Result<Self> {
        if let Some(url) = database_url {
            return Ok(Database {
                url: url.to_string(),
                migration_url: migration_database_url.map(str::to_string),
                embedded: None,
            });
        }
        if migration_database_url.is_some() {
            tracing::warn!(
                "--migration-database-url is ignored without DATABASE_URL: the embedded PostgreSQL has its own owner role"
            );
        }
        ensure_data_dir(data_dir)?;
        let pg_dir = data_dir.join("pg");
        let mut embedded = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&pg_dir))
            .await?
            .context("starting the embedded PostgreSQL (set DATABASE_URL to use another)")?;
        if owner {
            embedded.take_ownership();
        }
        let (owner_url, runtime_url) = set_up_embedded_roles(&embedded).await?;
        Ok(Database {
            url: runtime_url,
            migration_url: Some(owner_url),
            embedded: Some(Arc::new(Mutex::new(embedded))),
        })
    }

    /// For an embedded server this process owns: a task that starts it again whenever it stops
    /// on its own, and resolves (with why) only when it cannot, so that `serve` exits non-zero
    /// rather than answering NOT_SERVING for ever. `None` for a configured database, which is
    /// its operator's to keep running.
    pub fn supervisor(&self) -> Option<impl Future<Output = anyhow::Error> + Send + 'static> {
        let embedded = self.embedded.clone()?;
        if !embedded.lock().ok()?.owns_server() {
            return None;
        }
        Some(async move {
            let mut failures = 0;
            loop {
                tokio::time::sleep(SUPERVISE_EVERY).await;
                let server = embedded.clone();
                let checked = tokio::task::spawn_blocking(move || {
                    let mut server = server.lock().map_err(|_| {
                        anyhow::anyhow!("the embedded PostgreSQL's handle was poisoned")
                    })?;
                    Ok::<_, anyhow::Error>(server.restart_if_stopped()?)
                })
                .await;
                match checked {
                    Ok(Ok(restarted)) => {
                        if restarted {
                            tracing::info!("the embedded PostgreSQL runs again");
                        }
                        failures = 0;
                    }
                    Ok(Err(error)) => {
                        failures += 1;
                        tracing::warn!(
                            error = format!("{error:#}"),
                            attempt = failures,
                            "starting the embedded PostgreSQL again failed"
                        );
                        if failures >= RESTART_ATTEMPTS {
                            return error.context(format!(
                                "the embedded PostgreSQL stopped and could not be started again \
                                 ({failures} attempts)"
                            ));
                        }
                    }
                    Err(error) => {
                        return anyhow::Error::new(error)
                            .context("supervising the embedded PostgreSQL");
                    }
                }
            }
        })
    }

    /// Applies pending migrations as the tables' owner, then grants the runtime role what it
    /// needs. Serving as the owner (no migration URL) works but is warned about: that role can
    /// disable the audit log's triggers.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        let Some(owner_url) = &self.migration_url else {
            let applied = migrate::run_pending(&self.url).await?;
            let mut conn = connect::establish(&self.url)
                .await
                .context("connecting to the database")?;
            if roles::can_bypass_audit_triggers(&mut conn).await? {
                tracing::warn!(
                    "serving as the owner of Oblique's tables (or a superuser): this role can disable the audit log's triggers. Set DATABASE_URL to a role that owns nothing and --migration-database-url (OBLIQUE_MIGRATION_DATABASE_URL) to the owner: Oblique migrates as the owner and grants the other role what serving needs"
                );
            }
            return Ok(applied);
        };
        let applied = migrate::run_pending(owner_url)
            .await
            .context("migrating over the migration database URL")?;
        let mut runtime = connect::establish(&self.url)
            .await
            .context("connecting to the database")?;
        let runtime_role = roles::current_role(&mut runtime).await?;
        let mut owner = connect::establish(owner_url)
            .await
            .context("connecting over the migration database URL")?;
        roles::grant_runtime_privileges(&mut owner, &runtime_role)
            .await
            .with_context(|| format!("granting role {runtime_role} what serving needs"))?;
        if roles::can_bypass_audit_triggers(&mut runtime).await? {
            tracing::warn!(
                role = runtime_role,
                "DATABASE_URL's role owns Oblique's tables (or is a superuser), so it can disable the audit log's triggers: give DATABASE_URL a role that owns nothing"
            );
        }
        Ok(applied)
    }

    /// Stops the embedded server if this process owns it.
    pub async fn shutdown(self) {
        if let Some(embedded) = self.embedded {
            let stopped = tokio::task::spawn_blocking(move || match embedded.lock() {
                Ok(mut embedded) => embedded.stop(),
                // A supervisor that panicked mid-restart: the server may run; stop it anyway.
                Err(poisoned) => poisoned.into_inner().stop(),
            })
            .await;
            if let Ok(Err(error)) = stopped {
                tracing::warn!(%error, "stopping the embedded PostgreSQL");
            }
        }
    }
}

/// Makes the embedded owner and runtime roles (each with its password in a 0600 file) and the
/// database, owned by the owner; a database older versions made as the superuser is handed over
/// to the owner. Answers the owner's and the runtime role's URLs.
async fn set_up_embedded_roles(embedded: &EmbeddedPostgres) -> anyhow::Result<(String, String)> {
    let owner_password = embedded.role_password(EMBEDDED_OWNER)?;
    let runtime_password = embedded.role_password(EMBEDDED_RUNTIME)?;
    let mut admin = connect::establish(&embedded.url("postgres"))
        .await
        .context("connecting to the embedded PostgreSQL")?;
    // A failing statement is logged with its text, which here holds a password.
    admin
        .batch_execute("SET log_min_error_statement = panic")
        .await?;
    roles::ensure_login_role(&mut admin, EMBEDDED_OWNER, &owner_password).await?;
    roles::ensure_login_role(&mut admin, EMBEDDED_RUNTIME, &runtime_password).await?;
    let database = roles::quote_identifier(EMBEDDED_DATABASE);
    let owner = roles::quote_identifier(EMBEDDED_OWNER);
    let created = create_database_if_missing(&embedded.url("postgres"), EMBEDDED_DATABASE).await?;
    diesel::sql_query(format!("ALTER DATABASE {database} OWNER TO {owner}"))
        .execute(&mut admin)
        .await?;
    if !created {
        let mut old = connect::establish(&embedded.url(EMBEDDED_DATABASE)).await?;
        roles::transfer_ownership(&mut old, EMBEDDED_SUPERUSER, EMBEDDED_OWNER)
            .await
            .context("handing the database's tables over to the owner role")?;
    }
    Ok((
        embedded.url_as(EMBEDDED_OWNER, &owner_password, EMBEDDED_DATABASE),
        embedded.url_as(EMBEDDED_RUNTIME, &runtime_password, EMBEDDED_DATABASE),
    ))
}

/// Creates `name` on the server of `admin_url` unless it exists; answers whether it did.
pub async fn create_database_if_missing(admin_url: &str, name: &str) -> anyhow::Result<bool> {
    let mut conn = connect::establish(admin_url)
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
    if found.exists {
        return Ok(false);
    }
    // Identifiers cannot be bound; `name` is one of our constants, quoted all the same.
    diesel::sql_query(format!("CREATE DATABASE {}", roles::quote_identifier(name)))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating database {name}"))?;
    tracing::info!(database = name, "created database");
    Ok(true)
}

/// Creates the data directory. Others may traverse it but not list it: the embedded PostgreSQL
/// runs as the `postgres` user and must reach `pg/` inside, while the key and token files are
/// 0600 on their own.
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))
}
