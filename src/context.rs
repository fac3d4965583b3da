//! What every request handler and the sync engine share.

use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use crate::engine::{Engine, EngineConfig, hub::EventHub};
use crate::metrics::Metrics;
use crate::request_limits::RequestLimits;
use crate::{crypto::Keys, db::Pool};

#[derive(Clone)]
pub struct AppContext {
    pub pool: Pool,
    /// Seals and opens integration credentials; learns rotated keys by itself.
    pub secret_key: Keys,
    /// For connections outside the pool: the event listener and each run's staging connection.
    pub database_url: String,
    pub hub: EventHub,
    pub engine: EngineConfig,
    /// Concurrency, deadline and size limits of the gRPC server.
    pub limits: RequestLimits,
    /// Fires when the process shuts down: endless streams end, workers stop.
    pub shutdown: CancellationToken,
    /// What the server and its engine count, for `--metrics-listen`.
    pub metrics: Arc<Metrics>,
}

impl AppContext {
    pub fn new(pool: Pool, secret_key: impl Into<Keys>, database_url: String) -> Self {
        AppContext {
            pool,
            secret_key: secret_key.into(),
            database_url,
            hub: EventHub::new(),
            engine: EngineConfig::default(),
            limits: RequestLimits::default(),
            shutdown: CancellationToken::new(),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// The sync engine over this context's database, keys and event hub, not yet started.
    pub fn sync_engine(&self) -> Arc<Engine> {
        Engine::new(
            self.pool.clone(),
            self.secret_key.clone(),
            self.database_url.clone(),
            self.hub.clone(),
            self.engine.clone(),
            self.metrics.clone(),
        )
    }
}
