//! `oblique-bench`: drives the real pull (`sync::runner::pull_from`) over a synthetic directory
//! and compares it with a raw COPY of the same rows. The binary (src/bin/oblique-bench.rs) parses
//! flags and prints; this module does the work.

pub mod baseline;
pub mod database;
pub mod ldap;
pub mod measure;
/// The throwaway OpenLDAP server `--ldap` runs against; the integration tests use it too.
pub mod slapd;
pub mod synthetic;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_postgres::{Client, NoTls};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::AppContext;
use crate::crypto::SecretKey;
use crate::db::models::{IntegrationRow, NewIntegration, NewSyncRun};
use crate::db::{connect_pool, integrations, migrate};
use crate::sync::stats::RunStats;
use crate::sync::{Engine, EngineConfig, queue, runner};
use baseline::CopyBaseline;
use measure::{TableWrites, settled_writes, wal_lsn};
use synthetic::{Directory, Sizes, SyntheticSource};

const WORKER: &str = "oblique-bench/0";
/// Nothing reaps leases here (no scheduler runs); long enough for any benchmark run.
const LEASE: Duration = Duration::from_secs(24 * 3600);

/// One timed sync run.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub elapsed: Duration,
    /// Until the engine had listed and staged every page; the rest is merging and committing.
    pub listing: Option<Duration>,
    pub stats: RunStats,
    /// Rows the synced tables got (inserted + updated + deleted), per table.
    pub writes: TableWrites,
    /// WAL the server wrote during the run (all of it: the run's rows and events).
    pub wal_bytes: i64,
}

impl RunResult {
    pub fn merge(&self) -> Option<Duration> {
        self.listing
            .map(|listing| self.elapsed.saturating_sub(listing))
    }
}

/// Rows the synced tables hold for the integration (users: all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Landed {
    pub accounts: i64,
    pub attributes: i64,
    pub resources: i64,
    pub access: i64,
    pub users: i64,
}

impl Landed {
    /// What a complete initial sync of `sizes` lands.
    pub fn expected(sizes: &Sizes) -> Self {
        let n = |v: u64| v as i64;
        Landed {
            accounts: n(sizes.accounts),
            attributes: n(sizes.attribute_rows()),
            resources: n(sizes.resources),
            access: n(sizes.access),
            users: n(sizes.accounts),
        }
    }
}

/// The engine, an integration to sync into, and a plain connection for measuring.
pub struct Bench {
    pub sizes: Sizes,
    engine: Arc<Engine>,
    integration: IntegrationRow,
    client: Client,
}

impl Bench {
    /// Migrates the (fresh) database at `url` and creates the integration.
    pub async fn setup(url: &str, sizes: Sizes) -> anyhow::Result<Self> {
        migrate::run_pending(url).await?;
        let pool = connect_pool(url, 4)?;
        let ctx = AppContext::new(pool.clone(), SecretKey::generate(), url.to_string());
        let engine = Engine::new(ctx, EngineConfig::default());
        let integration = {
            let mut conn = pool.get().await?;
            integrations::insert(
                &mut conn,
                &NewIntegration {
                    id: Uuid::now_v7(),
                    integration_type: "postgres".into(),
                    name: "oblique-bench".into(),
                    config: serde_json::json!({"host": "synthetic", "database": "synthetic"}),
                    credentials_ciphertext: None,
                    create_resources_for_new_teams: false,
                    sync_interval_seconds: 3600,
                    max_deletion_percent: 100,
                    create_request_id: None,
                },
            )
            .await?
        };
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "benchmark connection closed");
            }
        });
        client
            .batch_execute("SET application_name = 'oblique-bench'; SET statement_timeout = 0")
            .await?;
        Ok(Bench {
            sizes,
            engine,
            integration,
            client,
        })
    }

    /// Leaves the server in the same state before each timed part: synced tables vacuumed and
    /// analysed (as autovacuum would have them between hourly syncs, and so that it does not
    /// start during a run) and dirty buffers written out. CHECKPOINT needs a superuser; without
    /// one it is skipped.
    async fn settle(&self) -> anyhow::Result<()> {
        self.client
            .batch_execute(
                "VACUUM (ANALYZE) accounts, account_attributes, resources, pulled_access, users",
            )
            .await?;
        if let Err(error) = self.client.batch_execute("CHECKPOINT").await {
            tracing::debug!(%error, "CHECKPOINT skipped");
        }
        Ok(())
    }

    /// Queues, claims and runs one pull of the directory at `version`, timing `pull_from`.
    pub async fn sync(&self, version: u64) -> anyhow::Result<RunResult> {
        self.settle().await?;
        let before = settled_writes(&self.client).await?;
        let wal_before = wal_lsn(&self.client).await?;
        let run = {
            let mut conn = self.engine.ctx.pool.get().await?;
            let queued = queue::enqueue(
                &mut conn,
                &NewSyncRun {
                    id: Uuid::now_v7(),
                    integration_id: self.integration.id,
                    trigger: "manual",
                    dry_run: false,
                    allow_mass_deletion: false,
                    requested_by: "oblique-bench",
                },
            )
            .await?;
            let claimed = queue::claim(&mut conn, WORKER, LEASE)
                .await?
                .context("the queued run could not be claimed")?;
            anyhow::ensure!(claimed.id == queued.id, "claimed another run than queued");
            claimed
        };
        let source = SyntheticSource::new(Directory::new(self.sizes, version));
        let listed_at = source.listed_at();
        let started = Instant::now();
        let stats = runner::pull_from(
            &self.engine,
            WORKER,
            &run,
            &self.integration,
            Box::new(source),
            &CancellationToken::new(),
        )
        .await
        .map_err(|stopped| anyhow::anyhow!("the sync run stopped: {stopped:?}"))?;
        let elapsed = started.elapsed();
        let listing = listed_at
            .lock()
            .ok()
            .and_then(|at| at.map(|at| at.duration_since(started)));
        let writes = settled_writes(&self.client).await?.since(&before);
        let wal_bytes = wal_lsn(&self.client).await? - wal_before;
        Ok(RunResult {
            elapsed,
            listing,
            stats,
            writes,
            wal_bytes,
        })
    }

    pub async fn landed(&self) -> anyhow::Result<Landed> {
        let row = self
            .client
            .query_one(
                "SELECT (SELECT count(*) FROM accounts WHERE integration_id = $1),
                        (SELECT count(*) FROM account_attributes aa
                         JOIN accounts a ON a.id = aa.account_id WHERE a.integration_id = $1),
                        (SELECT count(*) FROM resources WHERE integration_id = $1),
                        (SELECT count(*) FROM pulled_access WHERE integration_id = $1),
                        (SELECT count(*) FROM users)",
                &[&self.integration.id],
            )
            .await?;
        Ok(Landed {
            accounts: row.get(0),
            attributes: row.get(1),
            resources: row.get(2),
            access: row.get(3),
            users: row.get(4),
        })
    }

    /// Creates the baseline tables, then times the COPY of the base directory's rows: without
    /// foreign keys, then with them.
    pub async fn copy_baseline(&mut self) -> anyhow::Result<CopyBaseline> {
        baseline::create_tables(&self.client).await?;
        let directory = Directory::new(self.sizes, 0);
        let id = self.integration.id;
        let mut result = CopyBaseline::default();
        self.settle().await?;
        baseline::run_plain(&mut self.client, &directory, id, &mut result).await?;
        self.settle().await?;
        baseline::run_with_foreign_keys(&mut self.client, &directory, id, &mut result).await?;
        Ok(result)
    }
}
