//! One claimed run, top to bottom: list every kind of object into staging, merge in one
//! transaction (which also ends the run when no push follows), push, finish. Each phase is a
//! module of its own that gets only what it needs (the run's handle, the connector, staging)
//! and returns here. Nothing is applied unless the whole listing succeeded and the run is still
//! ours when the merge commits.

use tokio_util::sync::CancellationToken;

use super::Engine;
use super::apply::{self, summary};
use super::first_sync;
use super::listing;
use super::propagation::record_unreachable;
use super::push;
use super::run_handle::RunHandle;
use super::stage::Staging;
use super::stopped::{Stopped, internal};
use crate::connectors::Connector;
use crate::db::models::{IntegrationRow, SyncRunRow};
use crate::db::{integrations, intents, resources};
use crate::model::run_stats::RunStats;

pub async fn pull(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    stop: &CancellationToken,
) -> Result<RunStats, Stopped> {
    let integration = load_integration(engine, run).await?;
    let connector = engine
        .connectors
        .connector(&engine.keys, &integration)
        .map_err(|error| match error {
            crate::error::AppError::InvalidArgument { field, message } => {
                Stopped::Failed(format!("{field}: {message}"))
            }
            other => internal(other),
        })?;
    pull_from(engine, worker, run, &integration, connector, stop).await
}

/// Pulls from `connector` for a run this worker has claimed. `pull` builds the connector from
/// the integration's setup; the benchmark passes its own in-process source.
pub async fn pull_from(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    integration: &IntegrationRow,
    connector: Box<dyn Connector>,
    stop: &CancellationToken,
) -> Result<RunStats, Stopped> {
    let handle = RunHandle::new(&engine.pool, run, worker, stop);
    let outcome = phases(engine, &handle, integration, connector.as_ref()).await;
    if let Err(Stopped::Unreachable(reason)) = &outcome
        && let Err(error) =
            record_unreachable(&engine.pool, &engine.config, integration.id, reason).await
    {
        tracing::warn!(%error, "recording failed pushes");
    }
    outcome
}

async fn phases(
    engine: &Engine,
    run: &RunHandle<'_>,
    integration: &IntegrationRow,
    connector: &dyn Connector,
) -> Result<RunStats, Stopped> {
    let pair_key_secret = {
        let mut conn = engine.pool.get().await.map_err(internal)?;
        integrations::access_key_secret(&mut conn, integration.id)
            .await
            .map_err(internal)?
    };
    let mut staging = Staging::open(&engine.database_url, pair_key_secret)
        .await
        .map_err(internal)?;
    if !run.run.dry_run && is_first_sync(&mut staging, integration).await? {
        staging.expect_first_sync();
    }
    listing::list_all(run, connector, &mut staging).await?;
    run.check_not_stopped()?;

    let push = !run.run.dry_run && has_push_work(engine, integration).await?;
    let mut stats = apply::apply(run, integration, &mut staging, !push).await?;
    if !push {
        return Ok(stats);
    }
    drop(staging);

    let (pushed, failed) = push::reconcile(engine, run, integration, connector).await?;
    stats.push = pushed;
    stats.errors += failed;
    run.succeed(stats, summary(&stats)).await
}

/// A first sync lands its memberships straight into their table (see `first_sync`); the merge
/// checks again that it still is one.
async fn is_first_sync(
    staging: &mut Staging,
    integration: &IntegrationRow,
) -> Result<bool, Stopped> {
    let row = staging
        .client()
        .query_one(first_sync::IS_FIRST_SYNC, &[&integration.id])
        .await
        .map_err(internal)?;
    Ok(row.get(0))
}

/// Push-mode resources to reconcile, or remote changes an earlier run left unresolved.
async fn has_push_work(engine: &Engine, integration: &IntegrationRow) -> Result<bool, Stopped> {
    let mut conn = engine.pool.get().await.map_err(internal)?;
    let push_mode = resources::count_push_mode(&mut conn, integration.id)
        .await
        .map_err(internal)?;
    if push_mode > 0 {
        return Ok(true);
    }
    intents::any_resolvable(&mut conn, integration.id)
        .await
        .map_err(internal)
}

async fn load_integration(engine: &Engine, run: &SyncRunRow) -> Result<IntegrationRow, Stopped> {
    let mut conn = engine.pool.get().await.map_err(internal)?;
    let integration = integrations::find(&mut conn, run.integration_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("the run's integration vanished"))?;
    if integration.deleted_at.is_some() {
        return Err(Stopped::Cancelled);
    }
    Ok(integration)
}
