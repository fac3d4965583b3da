//! The listing phases: each kind of object streamed page by page from the connector into
//! staging, with progress events beside it and the unreadable objects reported.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::run_handle::RunHandle;
use super::stage::{Fit, ObjectKind, StagedPage, Staging, storable};
use super::stopped::{Stopped, internal};
use crate::connectors::{Connector, ObjectProblem, PageStream};
use crate::db::run_events::{EventDraft, EventKind};
use crate::model::RunPhase;

/// A progress event goes out at least this often, and every PROGRESS_EVERY objects.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
const PROGRESS_EVERY: i64 = 1000;
/// Progress events waiting to be written; the listing waits when this many are.
const PROGRESS_QUEUE: usize = 16;
/// How many unreadable objects a phase reports as WARNING events.
const REPORTED_PROBLEMS: usize = 20;

/// Lists accounts, resources and access into `staging`, in that order, and closes it for the
/// merge. Nothing is merged unless every listing got to its end.
pub async fn list_all(
    run: &RunHandle<'_>,
    connector: &dyn Connector,
    staging: &mut Staging,
) -> Result<(), Stopped> {
    for kind in [
        ObjectKind::Account,
        ObjectKind::Resource,
        ObjectKind::Access,
    ] {
        let problems = match kind {
            ObjectKind::Account => {
                let pages = connector.list_accounts();
                list_phase(
                    run,
                    RunPhase::Accounts,
                    pages,
                    staging,
                    StagedPage::Accounts,
                )
                .await?
            }
            ObjectKind::Resource => {
                let pages = connector.list_resources();
                list_phase(
                    run,
                    RunPhase::Resources,
                    pages,
                    staging,
                    StagedPage::Resources,
                )
                .await?
            }
            ObjectKind::Access => {
                let pages = connector.list_access();
                list_phase(run, RunPhase::Access, pages, staging, StagedPage::Access).await?
            }
        };
        staging.problems(kind, &problems).await.map_err(internal)?;
    }
    staging.finish().await.map_err(internal)
}

/// Streams one listing into staging, reporting progress; returns the objects it could not read
/// or could not store.
async fn list_phase<T: Fit>(
    run: &RunHandle<'_>,
    phase: RunPhase,
    pages: PageStream<'_, T>,
    staging: &mut Staging,
    staged: fn(Vec<T>) -> StagedPage,
) -> Result<Vec<ObjectProblem>, Stopped> {
    run.enter_phase(phase).await?;
    // Progress events are written beside the listing, in order, so that it never waits on them
    // (unless the queue is full).
    let (progress, queued) = mpsc::channel(PROGRESS_QUEUE);
    let listing = stage_pages(run, pages, staging, staged, progress);
    let reporting = report_progress(run, phase, queued);
    let (listed, reported) = tokio::join!(listing, reporting);
    let (processed, problems) = listed?;
    reported?;
    for problem in problems.iter().take(REPORTED_PROBLEMS) {
        run.emit(
            EventDraft::new(EventKind::Warning)
                .phase(phase)
                .message(format!("{}: {}", problem.object, problem.message)),
        )
        .await?;
    }
    run.emit(
        EventDraft::new(EventKind::PhaseFinished)
            .phase(phase)
            .progress(processed)
            .message(format!("{processed} listed, {} unreadable", problems.len())),
    )
    .await?;
    Ok(problems)
}

/// The listing itself: pages into staging, the count so far queued for a progress event every
/// PROGRESS_EVERY objects or PROGRESS_INTERVAL. Returns how many objects were listed and the
/// unreadable ones.
async fn stage_pages<T: Fit>(
    run: &RunHandle<'_>,
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
            () = run.stop.cancelled() => return Err(Stopped::Cancelled),
        };
        let Some(page) = page else { break };
        let mut objects = Vec::new();
        for item in page? {
            match item.and_then(Fit::fit) {
                Ok(object) => objects.push(object),
                Err(problem) => problems.push(storable(problem)),
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

/// Writes a progress event for each queued count of one phase until the listing ends.
async fn report_progress(
    run: &RunHandle<'_>,
    phase: RunPhase,
    mut queued: mpsc::Receiver<i64>,
) -> Result<(), Stopped> {
    while let Some(processed) = queued.recv().await {
        run.emit(
            EventDraft::new(EventKind::Progress)
                .phase(phase)
                .progress(processed),
        )
        .await?;
    }
    Ok(())
}
