//! A remote that misbehaves on demand: the engine's connector source, wrapping the real
//! connector of each integration (a real PostgreSQL remote), with a one-shot fault armed per
//! integration. Faults are injected here rather than through a real remote because the real ways
//! a remote could make a run panic are fixed (`try_get`, our own LDAP entry and paging parsers)
//! and a remote that hangs for hours cannot be waited for in a test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use oblique::connectors::{
    Connector, ConnectorError, PageStream, RemoteAccess, RemoteAccount, RemoteResource,
};
use oblique::crypto::Keys;
use oblique::db::models::IntegrationRow;
use oblique::engine::connector::{ConnectorSource, StoredSetup};
use oblique::engine::{Engine, EngineConfig};
use oblique::error::AppResult;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::harness::TestApp;

/// What the accounts listing of the next run of an integration does instead of listing.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Panics with [`INJECTED_PANIC`].
    Panic,
    /// Never answers, nor closes.
    Hang,
}

pub const INJECTED_PANIC: &str = "injected fault: the connector hit a bug";

/// The connector source of an engine a test starts; see the module's comment.
#[derive(Default)]
pub struct FaultyRemote {
    armed: Mutex<HashMap<Uuid, Fault>>,
}

impl FaultyRemote {
    pub fn new() -> Arc<FaultyRemote> {
        Arc::default()
    }

    /// The next run of the integration meets `fault`; the runs after it the real remote.
    pub fn arm(&self, integration_id: &str, fault: Fault) {
        let id = integration_id.parse().expect("an integration id");
        self.armed.lock().unwrap().insert(id, fault);
    }

    /// An engine on the app's database whose runs get their connectors here; it stops when the
    /// returned guard is dropped. Start the app without sync, so that this engine runs every run.
    pub fn start_engine(self: &Arc<Self>, app: &TestApp, config: EngineConfig) -> EngineGuard {
        let shutdown = CancellationToken::new();
        let engine = Engine::with_connectors(
            app.ctx.pool.clone(),
            app.ctx.secret_key.clone(),
            app.database_url.clone(),
            app.ctx.hub.clone(),
            config,
            self.clone(),
            app.ctx.metrics.clone(),
        );
        engine.start(shutdown.clone());
        EngineGuard(shutdown)
    }
}

impl ConnectorSource for FaultyRemote {
    fn connector(&self, keys: &Keys, row: &IntegrationRow) -> AppResult<Box<dyn Connector>> {
        let real = StoredSetup.connector(keys, row)?;
        match self.armed.lock().unwrap().remove(&row.id) {
            Some(fault) => Ok(Box::new(Faulty { real, fault })),
            None => Ok(real),
        }
    }
}

pub struct EngineGuard(CancellationToken);

impl Drop for EngineGuard {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

struct Faulty {
    real: Box<dyn Connector>,
    fault: Fault,
}

#[async_trait::async_trait]
impl Connector for Faulty {
    async fn validate(&self) -> Result<(), ConnectorError> {
        self.real.validate().await
    }

    fn list_accounts(&self) -> PageStream<'_, RemoteAccount> {
        match self.fault {
            Fault::Panic => panic!("{INJECTED_PANIC}"),
            Fault::Hang => futures::stream::pending().boxed(),
        }
    }

    fn list_resources(&self) -> PageStream<'_, RemoteResource> {
        self.real.list_resources()
    }

    fn list_access(&self) -> PageStream<'_, RemoteAccess> {
        self.real.list_access()
    }

    async fn add_member(&self, resource: &str, account: &str) -> Result<(), ConnectorError> {
        self.real.add_member(resource, account).await
    }

    async fn remove_member(&self, resource: &str, account: &str) -> Result<(), ConnectorError> {
        self.real.remove_member(resource, account).await
    }

    async fn create_resource(&self, name: &str) -> Result<RemoteResource, ConnectorError> {
        self.real.create_resource(name).await
    }
}
