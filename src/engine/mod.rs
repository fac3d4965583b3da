//! The sync engine. Runs are rows: workers on any number of replicas claim queued runs with
//! `FOR UPDATE SKIP LOCKED`, keep them with heartbeats, and pull by staging listings and merging
//! them set-based. Progress is stored and published with NOTIFY (see [`hub`]).

pub mod access_key;
pub mod apply;
pub mod connector;
pub mod copy_rows;
mod dry_run;
pub mod first_sync;
pub mod hub;
mod intents;
pub mod lease;
pub mod listing;
pub mod merge;
pub mod propagation;
pub mod push;
pub mod push_plan;
pub mod run_handle;
mod run_metrics;
pub mod runner;
mod scheduler;
pub mod stage;
pub mod stopped;
mod worker;

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::crypto::Keys;
use crate::db::Pool;
use crate::metrics::Metrics;
use connector::{ConnectorSource, StoredSetup};
use hub::EventHub;

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
    /// After this many failed attempts an add waits for a person (TriggerSync) or a new decision;
    /// a removal is retried for ever (backoff capped at one hour).
    pub push_max_attempts: i32,
    /// A run still going after this long (a remote that stalls without closing) fails.
    pub run_timeout: Duration,
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
            run_timeout: Duration::from_secs(2 * 3600),
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
    /// Builds each run's connector: from the integration's stored setup, unless a test says
    /// otherwise.
    pub connectors: Arc<dyn ConnectorSource>,
    /// Where runs and pushes are counted (shared with the server that scrapes them).
    pub metrics: Arc<Metrics>,
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
        metrics: Arc<Metrics>,
    ) -> Arc<Engine> {
        let connectors = Arc::new(StoredSetup);
        Self::with_connectors(pool, keys, database_url, hub, config, connectors, metrics)
    }

    /// An engine whose runs get their connectors from `connectors`.
    pub fn with_connectors(
        pool: Pool,
        keys: Keys,
        database_url: String,
        hub: EventHub,
        config: EngineConfig,
        connectors: Arc<dyn ConnectorSource>,
        metrics: Arc<Metrics>,
    ) -> Arc<Engine> {
        Arc::new(Engine {
            pool,
            keys,
            database_url,
            hub,
            config,
            connectors,
            metrics,
            instance: format!("{}-{}", hostname(), Uuid::new_v4().simple()),
        })
    }

    /// Starts the scheduler and the workers; they stop when `shutdown` fires (a running run is
    /// put back in the queue for another worker).
    pub fn start(self: Arc<Self>, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = scheduler::start(&self, &shutdown);
        for slot in 0..self.config.workers {
            tasks.push(tokio::spawn(worker::supervise(
                self.clone(),
                slot,
                shutdown.clone(),
            )));
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
