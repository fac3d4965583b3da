//! The sync engine. Runs are rows: workers on any number of replicas claim queued runs with
//! `FOR UPDATE SKIP LOCKED`, keep them with heartbeats, and pull by staging listings and merging
//! them set-based. Progress is stored and published with NOTIFY (see [`hub`]).

pub mod access_key;
pub mod apply;
pub mod connector;
pub mod copy_rows;
pub mod hub;
pub mod lease;
pub mod listing;
pub mod merge;
pub mod propagation;
pub mod push;
pub mod push_plan;
pub mod run_handle;
pub mod runner;
pub mod stage;
pub mod stopped;

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::crypto::Keys;
use crate::db::Pool;
use crate::db::models::SyncRunRow;
use crate::db::runs::{self, Ending, Finish};
use hub::EventHub;
use stopped::Stopped;

/// Tunables; the defaults suit production, tests shorten the timings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Runs this process executes at once.
    pub workers: usize,
    /// How long a claimed run stays ours without a heartbeat.
    pub lease: Duration,
    pub heartbeat: Duration,
    /// How often idle workers look for queued runs when no NOTIFY woke them.
    pub poll: Duration,
    /// How often due integrations are queued and expired leases reaped.
    pub schedule: Duration,
    /// A failed push is retried after this, doubling each attempt up to `push_retry_max`.
    pub push_retry_base: Duration,
    pub push_retry_max: Duration,
    /// After this many failed attempts a push waits for a person (TriggerSync) or a new decision.
    pub push_max_attempts: i32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 2,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(1),
            poll: Duration::from_secs(2),
            schedule: Duration::from_secs(5),
            push_retry_base: Duration::from_secs(2),
            push_retry_max: Duration::from_secs(300),
            push_max_attempts: 10,
        }
    }
}

/// The sync engine of this process: its workers and scheduler, and what they share.
pub struct Engine {
    pub pool: Pool,
    /// Opens the integrations' stored credentials.
    pub keys: Keys,
    /// For connections outside the pool: each run's staging connection and its lease keeper's.
    pub database_url: String,
    /// Run events and queue wake-ups from every replica.
    pub hub: EventHub,
    pub config: EngineConfig,
    /// Names this process's workers in `sync_runs.claimed_by`.
    instance: String,
}

impl Engine {
    /// An engine without tasks; [`Engine::start`] sets it to work. The benchmark drives runs
    /// with it directly.
    pub fn new(
        pool: Pool,
        keys: Keys,
        database_url: String,
        hub: EventHub,
        config: EngineConfig,
    ) -> Arc<Engine> {
        Arc::new(Engine {
            pool,
            keys,
            database_url,
            hub,
            config,
            instance: format!("{}-{}", hostname(), Uuid::new_v4().simple()),
        })
    }

    /// Starts the scheduler and the workers; they stop when `shutdown` fires (a running run is
    /// put back in the queue for another worker).
    pub fn start(self: Arc<Self>, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = vec![tokio::spawn(scheduler(self.clone(), shutdown.clone()))];
        for slot in 0..self.config.workers {
            tasks.push(tokio::spawn(worker(self.clone(), slot, shutdown.clone())));
        }
        tasks
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "oblique".into())
}

async fn scheduler(engine: Arc<Engine>, shutdown: CancellationToken) {
    loop {
        if let Err(error) = schedule_once(&engine).await {
            tracing::warn!(error = format!("{error:#}"), "scheduling sync runs failed");
        }
        tokio::select! {
            () = tokio::time::sleep(engine.config.schedule) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

async fn schedule_once(engine: &Engine) -> anyhow::Result<()> {
    let mut conn = engine.pool.get().await?;
    runs::reap_expired_leases(&mut conn).await?;
    let queued = runs::enqueue_due(&mut conn).await?;
    if queued > 0 {
        tracing::info!(queued, "queued scheduled sync runs");
    }
    Ok(())
}

async fn worker(engine: Arc<Engine>, slot: usize, shutdown: CancellationToken) {
    let name = format!("{}/{slot}", engine.instance);
    while !shutdown.is_cancelled() {
        let claimed = async {
            let mut conn = engine.pool.get().await?;
            anyhow::Ok(runs::claim(&mut conn, &name, engine.config.lease).await?)
        }
        .await;
        match claimed {
            Ok(Some(run)) => execute(&engine, &name, run, &shutdown).await,
            Ok(None) => {
                tokio::select! {
                    () = engine.hub.run_queued() => {}
                    () = tokio::time::sleep(engine.config.poll) => {}
                    () = shutdown.cancelled() => {}
                }
            }
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), worker = %name, "claiming a sync run failed");
                tokio::select! {
                    () = tokio::time::sleep(engine.config.poll) => {}
                    () = shutdown.cancelled() => {}
                }
            }
        }
    }
}

async fn execute(
    engine: &Arc<Engine>,
    worker: &str,
    run: SyncRunRow,
    shutdown: &CancellationToken,
) {
    tracing::info!(run_id = %run.id, integration_id = %run.integration_id, trigger = %run.trigger, dry_run = run.dry_run, "sync run started");
    let stop = CancellationToken::new();
    let keeper = tokio::spawn(lease::keep_lease(
        engine.clone(),
        worker.to_string(),
        run.id,
        stop.clone(),
    ));
    let outcome = tokio::select! {
        outcome = runner::pull(engine, worker, &run, &stop) => Some(outcome),
        () = shutdown.cancelled() => None,
    };
    keeper.abort();
    let mut conn = match engine.pool.get().await {
        Ok(conn) => conn,
        Err(error) => {
            // The lease will expire and the run be retried elsewhere.
            tracing::error!(%error, run_id = %run.id, "cannot record the run's outcome");
            return;
        }
    };
    let recorded = match outcome {
        Some(Ok(stats)) => {
            tracing::info!(run_id = %run.id, changed = stats.changed(), errors = stats.errors, "sync run succeeded");
            Ok(())
        }
        Some(Err(Stopped::Cancelled)) => {
            tracing::info!(run_id = %run.id, "sync run cancelled; nothing applied");
            Ok(())
        }
        Some(Err(Stopped::Failed(message) | Stopped::Unreachable(message))) => {
            tracing::warn!(run_id = %run.id, error = %message, "sync run failed; nothing applied");
            let failed = Finish {
                run_id: run.id,
                holder: Some(worker),
                ending: Ending::Failed { error: message },
                ended_by: None,
            };
            runs::finish(&mut conn, &failed).await.map(drop)
        }
        None => runs::requeue(&mut conn, run.id, worker).await,
    };
    if let Err(error) = recorded {
        tracing::error!(%error, run_id = %run.id, "cannot record the run's outcome");
    }
}
