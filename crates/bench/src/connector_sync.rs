//! One sync of a real connector's integration through the engine, timed: what the connector
//! modes (`--ldap`, `--scim`, `--mysql`) measure. The integration is set up as a user's would be
//! (its config and credentials checked against the type's setup fields, the credentials
//! sealed), then a run is queued, claimed and pulled exactly as a worker does, and only
//! `pull_from` is timed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oblique::connectors::{IntegrationKind, Setup};
use oblique::db::integrations;
use oblique::db::models::{IntegrationRow, NewIntegration};
use oblique::engine::Engine;
use oblique::model::run_stats::RunStats;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::measure::{TableWrites, process_cpu, settled_writes};
use crate::mode_names::BenchSetup;
use crate::phases::PhaseTimes;
use crate::{Landed, claim_run, landed, pull, settle};

/// The timed sync.
#[derive(Debug, Clone)]
pub struct ConnectorRun {
    pub elapsed: Duration,
    /// This process's CPU time during the sync (see [`process_cpu`]).
    pub cpu: Duration,
    pub stats: RunStats,
    pub writes: TableWrites,
    /// Each listing's time and the merge's, from the run's events.
    pub phases: PhaseTimes,
}

/// An integration of one type, ready to sync, on the benchmark's engine.
pub struct ConnectorSync {
    kind: IntegrationKind,
    setup: Setup,
    integration: IntegrationRow,
}

impl ConnectorSync {
    /// Creates the integration `oblique-bench-<type>` from `config` and `credentials`.
    pub async fn create(
        engine: &Arc<Engine>,
        kind: IntegrationKind,
        setup: &BenchSetup,
    ) -> anyhow::Result<Self> {
        let config: BTreeMap<String, String> = setup
            .config
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let credentials = setup
            .credentials
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let setup = Setup::check(kind.setup_fields(), config, credentials)
            .map_err(|error| anyhow::anyhow!("the benchmark's {} setup: {error:?}", kind.name()))?;
        let id = Uuid::now_v7();
        let mut conn = engine.pool.get().await?;
        let integration = integrations::insert(
            &mut conn,
            &NewIntegration {
                id,
                integration_type: kind.name().to_string(),
                name: format!("oblique-bench-{}", kind.name()),
                config: serde_json::json!(setup.config),
                credentials_ciphertext: Some(engine.keys.seal(id, &setup.credentials)?),
                create_resources_for_new_teams: false,
                sync_interval_seconds: 3600,
                max_deletion_percent: 100,
                create_request_id: None,
                link_users_by: kind.default_link_users_by(),
            },
        )
        .await?;
        Ok(ConnectorSync {
            kind,
            setup,
            integration,
        })
    }

    pub fn integration_id(&self) -> Uuid {
        self.integration.id
    }

    /// Settles the server, then queues, claims and runs the integration's sync, timing
    /// `pull_from`; `client` counts the rows it wrote.
    pub async fn run(&self, engine: &Arc<Engine>, client: &Client) -> anyhow::Result<ConnectorRun> {
        let worker = format!("oblique-bench/{}", self.kind.name());
        settle(client).await?;
        let before = settled_writes(client).await?;
        let run = claim_run(engine, self.integration.id, &worker).await?;
        let connector = self.kind.connector(&self.setup).map_err(|error| {
            anyhow::anyhow!("building the {} connector: {error:?}", self.kind.name())
        })?;
        let cpu_before = process_cpu().unwrap_or_default();
        let started = Instant::now();
        let stats = pull(engine, &worker, &run, &self.integration, connector).await?;
        let elapsed = started.elapsed();
        let cpu = process_cpu().unwrap_or_default().saturating_sub(cpu_before);
        let writes = settled_writes(client).await?.since(&before);
        let phases = PhaseTimes::of_run(client, run.id, elapsed).await?;
        Ok(ConnectorRun {
            elapsed,
            cpu,
            stats,
            writes,
            phases,
        })
    }

    /// Rows the synced tables hold for the integration.
    pub async fn landed(&self, client: &Client) -> anyhow::Result<Landed> {
        landed(client, self.integration.id).await
    }
}
