//! What the service counts, for a Prometheus scrape (`oblique serve --metrics-listen`): gRPC calls
//! (the usual `grpc_server_*` names), sync runs, rows written, pushes, subscribers, and gauges
//! read from the database at scrape time (queue, resources in error, pool).
//!
//! One [`Metrics`] per server (tests run several in one process, each counting its own). The
//! layers above record into it (gRPC calls: `server::grpc_metrics`); [`Metrics::encode`] writes the OpenMetrics text.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcCall {
    pub grpc_service: String,
    pub grpc_method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcHandled {
    pub grpc_service: String,
    pub grpc_method: String,
    /// The status code's name, as the gRPC spec spells it (`OK`, `NOT_FOUND` …).
    pub grpc_code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunEnded {
    /// The integration type.
    pub r#type: String,
    pub trigger: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationType {
    pub r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RowKind {
    /// `accounts`, `attributes`, `resources` or `access`.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PushOutcome {
    /// `add`, `remove` or `create`.
    pub op: String,
    /// `ok` or `failed`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolState {
    /// `idle` or `in_use`.
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildInfo {
    pub version: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds from 1 ms to ~65 s: a unary call's range.
fn call_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Seconds from 50 ms to ~3.6 h: a run's range.
fn run_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.05, 2.0, 18))
}

/// The service's metrics. Counters and histograms are recorded as things happen; the gauges
/// read from the database are set by the scrape just before it encodes.
pub struct Metrics {
    registry: Registry,
    pub grpc_handled: Family<GrpcHandled, Counter>,
    pub grpc_seconds: Histograms<GrpcCall>,
    pub sync_runs: Family<RunEnded, Counter>,
    pub sync_run_seconds: Histograms<IntegrationType>,
    pub rows_written: Family<RowKind, Counter>,
    pub pushes: Family<PushOutcome, Counter>,
    pub subscribers: Gauge,
    pub queue_depth: Gauge,
    pub queue_oldest_seconds: Gauge<f64, AtomicU64>,
    pub resources_in_error: Gauge,
    pub pool_connections: Family<PoolState, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let grpc_handled = Family::<GrpcHandled, Counter>::default();
        registry.register(
            "grpc_server_handled",
            "gRPC calls completed, by method and status code",
            grpc_handled.clone(),
        );
        let grpc_seconds: Histograms<GrpcCall> = Family::new_with_constructor(call_seconds);
        registry.register(
            "grpc_server_handling_seconds",
            "Time from a call's arrival to its last message (a stream's end)",
            grpc_seconds.clone(),
        );
        let sync_runs = Family::<RunEnded, Counter>::default();
        registry.register(
            "oblique_sync_runs",
            "Sync runs ended, by integration type, trigger and final state",
            sync_runs.clone(),
        );
        let sync_run_seconds: Histograms<IntegrationType> =
            Family::new_with_constructor(run_seconds);
        registry.register(
            "oblique_sync_run_duration_seconds",
            "How long ended sync runs ran, by integration type",
            sync_run_seconds.clone(),
        );
        let rows_written = Family::<RowKind, Counter>::default();
        registry.register(
            "oblique_sync_rows_written",
            "Rows a sync created, updated or soft-deleted, by kind of object",
            rows_written.clone(),
        );
        let pushes = Family::<PushOutcome, Counter>::default();
        registry.register(
            "oblique_pushes",
            "Changes sent to remote systems (members added or removed, resources created), by \
             outcome; failed removals are revocations not yet in force",
            pushes.clone(),
        );
        let subscribers = Gauge::default();
        registry.register(
            "oblique_subscribers",
            "Open WatchSyncRun and SubscribeSyncEvents streams",
            subscribers.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "oblique_sync_queue_depth",
            "Sync runs queued, waiting for a worker",
            queue_depth.clone(),
        );
        let queue_oldest_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "oblique_sync_queue_oldest_seconds",
            "How long the oldest queued sync run has waited (0 when none)",
            queue_oldest_seconds.clone(),
        );
        let resources_in_error = Gauge::default();
        registry.register(
            "oblique_resources_in_error",
            "Push-mode resources whose last push failed (retried with backoff)",
            resources_in_error.clone(),
        );
        let pool_connections = Family::<PoolState, Gauge>::default();
        registry.register(
            "oblique_db_pool_connections",
            "Connections of the database pool, by state",
            pool_connections.clone(),
        );
        let build_info = Family::<BuildInfo, Gauge>::default();
        registry.register(
            "oblique_build_info",
            "1, labelled with the running build's version",
            build_info.clone(),
        );
        build_info
            .get_or_create(&BuildInfo {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        Metrics {
            registry,
            grpc_handled,
            grpc_seconds,
            sync_runs,
            sync_run_seconds,
            rows_written,
            pushes,
            subscribers,
            queue_depth,
            queue_oldest_seconds,
            resources_in_error,
            pool_connections,
        }
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    /// Counts one change pushed to a remote system.
    pub fn push(&self, op: &str, succeeded: bool) {
        let outcome = if succeeded { "ok" } else { "failed" };
        self.pushes
            .get_or_create(&PushOutcome {
                op: op.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }
}

/// Counts an open stream while it lives.
pub struct SubscriberGuard(Gauge);

impl SubscriberGuard {
    pub fn new(metrics: &Metrics) -> SubscriberGuard {
        metrics.subscribers.inc();
        SubscriberGuard(metrics.subscribers.clone())
    }
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
