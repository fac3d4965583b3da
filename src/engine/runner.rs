//! Executing one claimed run: list every kind of object into staging, then merge in one
//! transaction that also finishes the run. Nothing is applied unless the whole listing
//! succeeded and the run is still ours when the transaction commits.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Engine;
use super::apply::summary;
use super::connector::connector_for_integration;
use super::stage::{ObjectKind, StagedPage, Staging};
use super::stopped::{Stopped, internal};
use crate::connectors::{Connector, ObjectProblem, PageStream};
use crate::db::models::{IntegrationRow, SyncRunRow};
use crate::db::run_events::{self as events, EventDraft, EventKind};
use crate::db::runs::{self, Ending, Finish};
use crate::db::{integrations, resources};
use crate::model::RunPhase;
use crate::model::run_stats::RunStats;

/// A progress event goes out at least this often, and every PROGRESS_EVERY objects.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
const PROGRESS_EVERY: i64 = 1000;
/// Progress events waiting to be written; the listing waits when this many are.
const PROGRESS_QUEUE: usize = 16;
/// How many unreadable objects a phase reports as WARNING events.
const REPORTED_PROBLEMS: usize = 20;

pub async fn pull(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    stop: &CancellationToken,
) -> Result<RunStats, Stopped> {
    let integration = load_integration(engine, run).await?;
    let connector =
        connector_for_integration(&engine.keys, &integration).map_err(|error| match error {
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
    let mut staging = Staging::open(&engine.database_url)
        .await
        .map_err(internal)?;

    let listings = [
        (RunPhase::Accounts, ObjectKind::Account),
        (RunPhase::Resources, ObjectKind::Resource),
        (RunPhase::Access, ObjectKind::Access),
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
                    &mut staging,
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
                    &mut staging,
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
                    &mut staging,
                    StagedPage::Access,
                )
                .await?
            }
        };
        staging.problems(kind, &problems).await.map_err(internal)?;
    }
    staging.finish().await.map_err(internal)?;
    if stop.is_cancelled() {
        return Err(Stopped::Cancelled);
    }
    let push = !run.dry_run && has_push_resources(engine, integration).await?;
    let mut stats =
        super::apply::apply(engine, worker, run, integration, &mut staging, !push).await?;
    if !push {
        return Ok(stats);
    }
    drop(staging);
    let (pushed, failed) =
        super::push::reconcile(engine, run, integration, connector.as_ref(), stop).await?;
    stats.push = pushed;
    stats.errors += failed;
    finish(engine, worker, run, stats).await
}

async fn has_push_resources(
    engine: &Engine,
    integration: &IntegrationRow,
) -> Result<bool, Stopped> {
    let mut conn = engine.pool.get().await.map_err(internal)?;
    resources::count_push_mode(&mut conn, integration.id)
        .await
        .map(|count| count > 0)
        .map_err(internal)
}

/// Ends a run whose push phase followed its merge.
async fn finish(
    engine: &Engine,
    worker: &str,
    run: &SyncRunRow,
    stats: RunStats,
) -> Result<RunStats, Stopped> {
    let mut conn = engine.pool.get().await.map_err(internal)?;
    let succeeded = Finish {
        run_id: run.id,
        holder: Some(worker),
        ending: Ending::Succeeded {
            stats,
            summary: summary(&stats),
        },
        ended_by: None,
    };
    let finished = runs::finish(&mut conn, &succeeded)
        .await
        .map_err(internal)?;
    if finished.is_none() {
        return Err(Stopped::Cancelled);
    }
    Ok(stats)
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

/// Streams one listing into staging, reporting progress; returns the objects it could not read.
async fn list_phase<T>(
    engine: &Engine,
    run: &SyncRunRow,
    stop: &CancellationToken,
    phase: RunPhase,
    pages: PageStream<'_, T>,
    staging: &mut Staging,
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
    // Progress events are written beside the listing, in order, so that it never waits on them
    // (unless the queue is full).
    let (progress, queued) = mpsc::channel(PROGRESS_QUEUE);
    let listing = stage_pages(engine, run, stop, pages, staging, staged, progress);
    let reporting = report_progress(engine, run.id, phase, queued);
    let (listed, reported) = tokio::join!(listing, reporting);
    let (processed, problems) = listed?;
    reported?;
    for problem in problems.iter().take(REPORTED_PROBLEMS) {
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

/// The listing itself: pages into staging, the count so far queued for a progress event every
/// PROGRESS_EVERY objects or PROGRESS_INTERVAL. Returns how many objects were listed and the
/// unreadable ones.
async fn stage_pages<T>(
    engine: &Engine,
    run: &SyncRunRow,
    stop: &CancellationToken,
    mut pages: PageStream<'_, T>,
    staging: &mut Staging,
    staged: fn(Vec<T>) -> StagedPage,
    progress: mpsc::Sender<i64>,
) -> Result<(i64, Vec<ObjectProblem>), Stopped> {
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
        if let Err(crate::connectors::ConnectorError::Unreachable(reason)) = &page
            && let Err(error) =
                super::propagation::record_unreachable(engine, run.integration_id, reason).await
        {
            tracing::warn!(%error, "recording failed pushes");
        }
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
            if progress.send(processed).await.is_err() {
                // The reporter stopped on an error; it tells what went wrong.
                break;
            }
            reported = processed;
            last_report = Instant::now();
        }
    }
    Ok((processed, problems))
}

/// Writes a progress event for each queued count of one phase, on a connection of its own,
/// until the listing ends.
async fn report_progress(
    engine: &Engine,
    run_id: Uuid,
    phase: RunPhase,
    mut queued: mpsc::Receiver<i64>,
) -> Result<(), Stopped> {
    let Some(first) = queued.recv().await else {
        return Ok(());
    };
    let mut conn = engine.pool.get().await.map_err(internal)?;
    let mut next = Some(first);
    while let Some(processed) = next {
        let event = EventDraft::new(EventKind::Progress)
            .phase(phase)
            .progress(processed);
        events::emit(&mut conn, run_id, event)
            .await
            .map_err(internal)?;
        next = queued.recv().await;
    }
    Ok(())
}
