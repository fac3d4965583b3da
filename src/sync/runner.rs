//! Executing one claimed run: list every kind of object into staging, then merge in one
//! transaction that also finishes the run. Nothing is applied unless the whole listing
//! succeeded and the run is still ours when the transaction commits.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Engine;
use super::events::{EMIT_SQL, EventDraft, EventKind, Phase};
use super::merge::{self, Merged};
use super::stage::{ObjectKind, StagedPage, Staging};
use super::stats::RunStats;
use crate::connectors::{
    Connector, ConnectorError, IntegrationKind, ObjectProblem, PageStream, Setup,
};
use crate::db::models::{IntegrationRow, SyncRunRow};
use crate::db::{integrations, sync_runs};
use crate::domain::integrations::open as open_credentials;

/// A progress event goes out at least this often, and every PROGRESS_EVERY objects.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
const PROGRESS_EVERY: i64 = 1000;
/// How many changes a dry run reports as events.
const PREVIEW_CHANGES: i64 = 20;

/// Why a run stopped before succeeding.
#[derive(Debug)]
pub enum Stopped {
    /// Someone cancelled it (or deleted its integration, or its lease passed to another worker):
    /// whoever did so has already recorded the outcome.
    Cancelled,
    /// The run failed; the message is safe to show callers.
    Failed(String),
}

impl From<ConnectorError> for Stopped {
    fn from(error: ConnectorError) -> Self {
        Stopped::Failed(error.to_string())
    }
}

/// Database trouble while syncing: the details go to the log, callers see a fixed text.
fn internal(error: impl std::fmt::Display) -> Stopped {
    tracing::error!(%error, "sync run failed");
    Stopped::Failed("internal error while syncing (details in the service log)".into())
}

pub async fn pull(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    stop: &CancellationToken,
) -> Result<RunStats, Stopped> {
    let integration = load_integration(engine, run).await?;
    let connector = connector_for(engine, &integration)?;
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
    let mut staging = Staging::open(&engine.ctx.database_url)
        .await
        .map_err(internal)?;

    let listings = [
        (Phase::Accounts, ObjectKind::Account),
        (Phase::Resources, ObjectKind::Resource),
        (Phase::Access, ObjectKind::Access),
    ];
    for (phase, kind) in listings {
        let problems = match kind {
            ObjectKind::Account => {
                list_phase(
                    engine,
                    run,
                    stop,
                    phase,
                    connector.list_accounts(),
                    &staging,
                    StagedPage::Accounts,
                )
                .await?
            }
            ObjectKind::Resource => {
                list_phase(
                    engine,
                    run,
                    stop,
                    phase,
                    connector.list_resources(),
                    &staging,
                    StagedPage::Resources,
                )
                .await?
            }
            ObjectKind::Access => {
                list_phase(
                    engine,
                    run,
                    stop,
                    phase,
                    connector.list_access(),
                    &staging,
                    StagedPage::Access,
                )
                .await?
            }
        };
        staging.problems(kind, &problems).await.map_err(internal)?;
    }
    drop(connector);

    if stop.is_cancelled() {
        return Err(Stopped::Cancelled);
    }
    apply(engine, worker, run, integration, &mut staging).await
}

async fn load_integration(engine: &Engine, run: &SyncRunRow) -> Result<IntegrationRow, Stopped> {
    let mut conn = engine.ctx.pool.get().await.map_err(internal)?;
    let integration = integrations::find(&mut conn, run.integration_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("the run's integration vanished"))?;
    if integration.deleted_at.is_some() {
        return Err(Stopped::Cancelled);
    }
    Ok(integration)
}

fn connector_for(
    engine: &Engine,
    integration: &IntegrationRow,
) -> Result<Box<dyn Connector>, Stopped> {
    let kind = IntegrationKind::from_name(&integration.integration_type).ok_or_else(|| {
        Stopped::Failed(format!(
            "unknown integration type {}",
            integration.integration_type
        ))
    })?;
    let config = serde_json::from_value(integration.config.clone()).map_err(internal)?;
    let credentials = open_credentials(&engine.ctx, integration).map_err(internal)?;
    let setup = Setup::check(kind.setup_fields(), config, credentials)?;
    Ok(kind.connector(&setup)?)
}

/// Streams one listing into staging, reporting progress; returns the objects it could not read.
async fn list_phase<T>(
    engine: &Engine,
    run: &SyncRunRow,
    stop: &CancellationToken,
    phase: Phase,
    mut pages: PageStream<'_, T>,
    staging: &Staging,
    staged: fn(Vec<T>) -> StagedPage,
) -> Result<Vec<ObjectProblem>, Stopped> {
    engine.set_phase(run.id, phase).await.map_err(internal)?;
    engine
        .emit(
            run.id,
            EventDraft::new(EventKind::PhaseStarted).phase(phase),
        )
        .await
        .map_err(internal)?;
    let mut problems = Vec::new();
    let mut processed: i64 = 0;
    let mut reported: i64 = 0;
    let mut last_report = Instant::now();
    loop {
        let page = tokio::select! {
            page = pages.next() => page,
            () = stop.cancelled() => return Err(Stopped::Cancelled),
        };
        let Some(page) = page else { break };
        let mut objects = Vec::new();
        for item in page? {
            match item {
                Ok(object) => objects.push(object),
                Err(problem) => problems.push(problem),
            }
        }
        processed += objects.len() as i64;
        staging.stage(staged(objects)).await.map_err(internal)?;
        if processed - reported >= PROGRESS_EVERY || last_report.elapsed() >= PROGRESS_INTERVAL {
            engine
                .emit(
                    run.id,
                    EventDraft::new(EventKind::Progress)
                        .phase(phase)
                        .progress(processed),
                )
                .await
                .map_err(internal)?;
            reported = processed;
            last_report = Instant::now();
        }
    }
    for problem in problems.iter().take(PREVIEW_CHANGES as usize) {
        engine
            .emit(
                run.id,
                EventDraft::new(EventKind::Warning)
                    .phase(phase)
                    .message(format!("{}: {}", problem.object, problem.message)),
            )
            .await
            .map_err(internal)?;
    }
    engine
        .emit(
            run.id,
            EventDraft::new(EventKind::PhaseFinished)
                .phase(phase)
                .progress(processed)
                .message(format!("{processed} listed, {} unreadable", problems.len())),
        )
        .await
        .map_err(internal)?;
    Ok(problems)
}

/// Merges in one transaction. A dry run, a tripped mass-deletion guard or a run that stopped
/// being ours rolls everything back.
async fn apply(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    integration: &IntegrationRow,
    staging: &mut Staging,
) -> Result<RunStats, Stopped> {
    let tx = staging.client().transaction().await.map_err(internal)?;
    let merged = merge::apply(&tx, integration.id, run.id)
        .await
        .map_err(internal)?;
    let stats = merged.stats;
    if let Some(refusal) = mass_deletion(&merged, integration, run) {
        tx.rollback().await.map_err(internal)?;
        return Err(Stopped::Failed(refusal));
    }
    if run.dry_run {
        let preview = merge::preview(&tx, integration.id, PREVIEW_CHANGES)
            .await
            .map_err(internal)?;
        tx.rollback().await.map_err(internal)?;
        return finish_dry_run(engine, worker, run, &merged, preview).await;
    }
    let stats_json = serde_json::to_value(stats).map_err(internal)?;
    let finished = tx
        .execute(
            "UPDATE sync_runs SET state = 'succeeded', stats = $3, finished_at = now(),
                 phase = NULL, lease_expires_at = NULL
             WHERE id = $1 AND state = 'running' AND claimed_by = $2",
            &[&run.id, &worker, &stats_json],
        )
        .await
        .map_err(internal)?;
    if finished != 1 {
        // Cancelled while merging: the rollback (on drop) leaves no trace.
        return Err(Stopped::Cancelled);
    }
    tx.execute(
        "UPDATE integrations SET last_pulled_at = now() WHERE id = $1",
        &[&integration.id],
    )
    .await
    .map_err(internal)?;
    if stats.changed() > 0 || stats.errors > 0 {
        tx.execute(
            "INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id, details)
             VALUES (uuid_generate_v7(), 'system', 'system', 'sync.apply', $1, $2)",
            &[&integration.id, &json!({"run_id": run.id, "stats": stats})],
        )
        .await
        .map_err(internal)?;
    }
    if merged.unresolved_access > 0 {
        emit_in(&tx, run.id, unresolved_warning(&merged))
            .await
            .map_err(internal)?;
    }
    emit_in(
        &tx,
        run.id,
        EventDraft::new(EventKind::Finished)
            .state("succeeded")
            .stats(stats)
            .message(summary(&stats)),
    )
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(stats)
}

/// Refuses a merge that would soft delete more than the integration allows, unless the run was
/// told to.
fn mass_deletion(
    merged: &Merged,
    integration: &IntegrationRow,
    run: &SyncRunRow,
) -> Option<String> {
    if run.allow_mass_deletion {
        return None;
    }
    let limit = i64::from(integration.max_deletion_percent);
    [
        (
            "accounts",
            merged.stats.accounts.deleted,
            merged.live_accounts_before,
        ),
        (
            "resources",
            merged.stats.resources.deleted,
            merged.live_resources_before,
        ),
    ]
    .into_iter()
    .find(|(_, deleted, live)| *deleted > 0 && deleted * 100 > limit * live)
    .map(|(kind, deleted, live)| {
        format!(
            "mass-deletion guard: this sync would soft delete {deleted} of {live} {kind} \
             (more than max_deletion_percent = {limit}%); nothing was applied. Check the remote \
             system, then trigger a sync with allow_mass_deletion to apply it"
        )
    })
}

async fn finish_dry_run(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    merged: &Merged,
    preview: Vec<String>,
) -> Result<RunStats, Stopped> {
    let stats = merged.stats;
    for change in preview {
        engine
            .emit(
                run.id,
                EventDraft::new(EventKind::Warning).message(format!("dry run: {change}")),
            )
            .await
            .map_err(internal)?;
    }
    if merged.unresolved_access > 0 {
        engine
            .emit(run.id, unresolved_warning(merged))
            .await
            .map_err(internal)?;
    }
    let mut conn = engine.ctx.pool.get().await.map_err(internal)?;
    let finished = sync_runs::finish_dry_run(&mut conn, run.id, worker, &stats, &summary(&stats))
        .await
        .map_err(internal)?;
    if !finished {
        return Err(Stopped::Cancelled);
    }
    Ok(stats)
}

fn unresolved_warning(merged: &Merged) -> EventDraft {
    EventDraft::new(EventKind::Warning)
        .phase(Phase::Access)
        .message(format!(
            "{} memberships name accounts or resources outside the synced ones; ignored",
            merged.unresolved_access
        ))
}

fn summary(stats: &RunStats) -> String {
    let kind = |name: &str, c: &super::stats::ChangeCounts| {
        format!(
            "{name} +{} ~{} -{} ={}",
            c.created, c.updated, c.deleted, c.unchanged
        )
    };
    format!(
        "{}; {}; {}; {}; {} unreadable",
        kind("accounts", &stats.accounts),
        kind("attributes", &stats.attributes),
        kind("resources", &stats.resources),
        kind("access", &stats.access),
        stats.errors
    )
}

/// Emits inside the merge transaction: the event exists (and is published) only if it commits.
async fn emit_in(
    tx: &tokio_postgres::Transaction<'_>,
    run_id: uuid::Uuid,
    draft: EventDraft,
) -> Result<(), tokio_postgres::Error> {
    let (kind, message, stats) = draft.columns();
    tx.execute(
        EMIT_SQL,
        &[
            &run_id,
            &kind.as_str(),
            &draft.phase.map(Phase::as_str),
            &draft.processed,
            &draft.total,
            &stats,
            &draft.state,
            &message,
        ],
    )
    .await?;
    Ok(())
}
