//! `oblique-bench`: drives the real pull (`oblique::engine::runner::pull_from`) over a synthetic
//! directory and compares it with a raw COPY of the same rows. The binary (src/main.rs) parses
//! flags; this library does the work, [`report`] turns it into the printed metrics. It lives
//! outside the `oblique` crate so that the server never ships it; it uses only the product's
//! public API.
//!
//! The free functions below (engine, measuring connection, settling, claiming and running a
//! pull, counting what landed) are shared with the connector modes ([`ldap`], [`scim`],
//! [`mysql`]), so that every mode measures the same way. Those modes share more among
//! themselves: their sizes ([`directory_sizes`]), the timed sync of a real integration
//! ([`connector_sync`]), the round ([`connector_mode`]), the COPY of the landed rows
//! ([`landed_copy`]) and the report ([`connector_report`]); every report prints through
//! [`mode_report::ModeReport`]. The scale curve ([`curve`]) runs the synthetic directory's
//! initial and no-change syncs at several sizes, each in a child process.

pub mod baseline;
pub mod connector_mode;
pub mod connector_report;
pub mod connector_sync;
pub mod curve;
pub mod curve_report;
pub mod database;
pub mod directory_sizes;
pub mod landed_copy;
pub mod ldap;
pub mod measure;
pub mod metric;
pub mod mode_names;
pub mod mode_report;
pub mod mysql;
pub mod phases;
pub mod report;
pub mod rpc;
pub mod scim;
pub mod synthetic;
pub mod watchers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use oblique::connectors::Connector;
use oblique::context::AppContext;
use oblique::crypto::SecretKey;
use oblique::db::models::{IntegrationRow, NewIntegration, NewSyncRun, SyncRunRow};
use oblique::db::runs;
use oblique::db::{connect_pool, integrations, migrate};
use oblique::engine::{Engine, runner};
use oblique::model::RunTrigger;
use oblique::model::run_stats::RunStats;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use baseline::CopyBaseline;
use measure::{TableWrites, proc_status_mb, settled_writes, wal_lsn};
use report::Report;
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
        let engine = start_engine(url).await?;
        let integration = {
            let mut conn = engine.pool.get().await?;
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
                    link_users_by: oblique::model::LinkUsersBy::Username,
                },
            )
            .await?
        };
        let client = measuring_client(url).await?;
        Ok(Bench {
            sizes,
            engine,
            integration,
            client,
        })
    }

    /// Queues, claims and runs one pull of the directory at `version`, timing `pull_from`.
    pub async fn sync(&self, version: u64) -> anyhow::Result<RunResult> {
        let (result, ()) = self.sync_observed(version, async |_| Ok(())).await?;
        Ok(result)
    }

    /// [`Bench::sync`], calling `claimed` (untimed) with the run once it is claimed and before
    /// its pull starts: `--watchers` subscribes to the run there.
    pub async fn sync_observed<T>(
        &self,
        version: u64,
        claimed: impl AsyncFnOnce(&SyncRunRow) -> anyhow::Result<T>,
    ) -> anyhow::Result<(RunResult, T)> {
        settle(&self.client).await?;
        let before = settled_writes(&self.client).await?;
        let wal_before = wal_lsn(&self.client).await?;
        let run = claim_run(&self.engine, self.integration.id, WORKER).await?;
        let observed = claimed(&run).await?;
        let source = SyntheticSource::new(Directory::new(self.sizes, version));
        let listed_at = source.listed_at();
        let started = Instant::now();
        let stats = pull(
            &self.engine,
            WORKER,
            &run,
            &self.integration,
            Box::new(source),
        )
        .await?;
        let elapsed = started.elapsed();
        let listing = listed_at
            .lock()
            .ok()
            .and_then(|at| at.map(|at| at.duration_since(started)));
        let writes = settled_writes(&self.client).await?.since(&before);
        let wal_bytes = wal_lsn(&self.client).await? - wal_before;
        let result = RunResult {
            elapsed,
            listing,
            stats,
            writes,
            wal_bytes,
        };
        Ok((result, observed))
    }

    pub fn integration_id(&self) -> Uuid {
        self.integration.id
    }

    pub async fn landed(&self) -> anyhow::Result<Landed> {
        landed(&self.client, self.integration.id).await
    }

    /// Creates the baseline tables, then times the COPY of the base directory's rows: without
    /// foreign keys, then with them.
    pub async fn copy_baseline(&mut self) -> anyhow::Result<CopyBaseline> {
        baseline::create_tables(&self.client).await?;
        let directory = Directory::new(self.sizes, 0);
        let id = self.integration.id;
        let mut result = CopyBaseline::default();
        settle(&self.client).await?;
        baseline::run_plain(&mut self.client, &directory, id, &mut result).await?;
        settle(&self.client).await?;
        baseline::run_with_foreign_keys(&mut self.client, &directory, id, &mut result).await?;
        Ok(result)
    }
}

/// The synthetic benchmark against the (fresh) database at `url`: an initial sync, a re-sync
/// that finds no change, a re-sync with 1% of objects changed, then the COPY baseline.
pub async fn run(url: &str, sizes: Sizes) -> anyhow::Result<Report> {
    let mut bench = Bench::setup(url, sizes).await?;
    let step = |what: &str| eprintln!("oblique-bench: {what}");
    step("initial sync");
    let initial = bench.sync(0).await?;
    let landed = bench.landed().await?;
    if landed != Landed::expected(&sizes) {
        eprintln!(
            "oblique-bench: WARNING: the initial sync landed {landed:?}, not every generated row"
        );
    }
    step("no-change re-sync");
    let noop = bench.sync(0).await?;
    step("1%-changed re-sync");
    let incremental = bench.sync(1).await?;
    step("COPY baseline");
    let copy = bench.copy_baseline().await?;
    Ok(Report {
        sizes,
        initial,
        noop,
        incremental,
        copy,
        landed,
        peak_rss_mb: proc_status_mb("VmHWM").unwrap_or_default(),
    })
}

/// Migrates the (fresh) database at `url` and starts an engine on it, with its own pool.
async fn start_engine(url: &str) -> anyhow::Result<Arc<Engine>> {
    migrate::run_pending(url).await?;
    let pool = connect_pool(url, 4)?;
    let ctx = AppContext::new(pool, SecretKey::generate(), url.to_string());
    Ok(ctx.sync_engine())
}

/// A plain connection outside the engine's pool, for measuring, settling and the baselines;
/// without a statement timeout, since a VACUUM or COPY of millions of rows takes a while.
async fn measuring_client(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = oblique::db::connect::connect(url).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "benchmark connection closed");
        }
    });
    client
        .batch_execute("SET application_name = 'oblique-bench'; SET statement_timeout = 0")
        .await?;
    Ok(client)
}

/// Leaves the server in the same state before each timed part: synced tables vacuumed and
/// analysed (as autovacuum would have them between hourly syncs, and so that it does not
/// start during a run) and dirty buffers written out. CHECKPOINT needs a superuser; without
/// one it is skipped.
async fn settle(client: &Client) -> anyhow::Result<()> {
    client
        .batch_execute(
            "VACUUM (ANALYZE) accounts, account_attributes, resources, pulled_access, users",
        )
        .await?;
    if let Err(error) = client.batch_execute("CHECKPOINT").await {
        tracing::debug!(%error, "CHECKPOINT skipped");
    }
    Ok(())
}

/// Queues a manual run of the integration and claims it as `worker`, as the scheduler and a
/// worker would; fails if another run was claimed.
async fn claim_run(
    engine: &Engine,
    integration_id: Uuid,
    worker: &str,
) -> anyhow::Result<SyncRunRow> {
    let mut conn = engine.pool.get().await?;
    let queued = runs::enqueue(
        &mut conn,
        &NewSyncRun {
            id: Uuid::now_v7(),
            integration_id,
            trigger: RunTrigger::Manual,
            dry_run: false,
            allow_mass_deletion: false,
            requested_by: "oblique-bench",
        },
    )
    .await?;
    let claimed = runs::claim(&mut conn, worker, LEASE)
        .await?
        .context("the queued run could not be claimed")?;
    anyhow::ensure!(claimed.id == queued.id, "claimed another run than queued");
    Ok(claimed)
}

/// The timed part: the engine's pull of the claimed `run` from `connector`, never cancelled.
async fn pull(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    integration: &IntegrationRow,
    connector: Box<dyn Connector>,
) -> anyhow::Result<RunStats> {
    runner::pull_from(
        engine,
        worker,
        run,
        integration,
        connector,
        &CancellationToken::new(),
    )
    .await
    .map_err(|stopped| anyhow::anyhow!("the sync run stopped: {stopped:?}"))
}

/// Rows the synced tables hold for the integration (users: all of them).
async fn landed(client: &Client, integration_id: Uuid) -> anyhow::Result<Landed> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM accounts WHERE integration_id = $1),
                    (SELECT count(*) FROM account_attributes aa
                     JOIN accounts a ON a.id = aa.account_id WHERE a.integration_id = $1),
                    (SELECT count(*) FROM resources WHERE integration_id = $1),
                    (SELECT count(*) FROM pulled_access WHERE integration_id = $1),
                    (SELECT count(*) FROM users)",
            &[&integration_id],
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
