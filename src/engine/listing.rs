//! The listing phases: each kind of object streamed page by page from the connector into
//! staging, with progress events beside it and the unreadable objects reported.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use super::run_handle::RunHandle;
use super::stage::{Fit, ObjectKind, StagedPage, Staging, storable};
use super::stopped::{Stopped, internal};
use crate::connectors::{Connector, ConnectorError, Listed, ObjectProblem, PageStream};
use crate::db::run_events::{EventDraft, EventKind};
use crate::model::RunPhase;

/// A progress event goes out once this long has passed since the last one (and objects were
/// listed since): a few a second is all a dashboard can show, and each event is a stored row, a
/// NOTIFY and a message to every subscriber. A count-based cadence (every 1,000 objects) sent
/// a million-membership sync's 1,100 events to each of its watchers, and slowed the sync by a
/// third with 1,000 of them (`oblique-bench --watchers`).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);
/// Progress events waiting to be written; the listing waits when this many are.
const PROGRESS_QUEUE: usize = 16;
/// How many unreadable objects a phase reports as WARNING events.
const REPORTED_PROBLEMS: usize = 20;
/// Unreadable objects are staged in batches of this many: a remote whose every object is
/// unreadable costs no more memory than one batch.
const PROBLEM_BATCH: usize = 1000;

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
        match kind {
            ObjectKind::Account => {
                let pages = connector.list_accounts();
                list_phase(run, kind, pages, staging, StagedPage::Accounts).await?
            }
            ObjectKind::Resource => {
                let pages = connector.list_resources();
                list_phase(run, kind, pages, staging, StagedPage::Resources).await?
            }
            ObjectKind::Access => {
                let pages = connector.list_access();
                list_phase(run, kind, pages, staging, StagedPage::Access).await?
            }
        }
    }
    staging.finish().await.map_err(internal)
}

/// Streams one listing into staging, with the objects it could not read or could not store,
/// reporting progress and the first unreadable objects.
async fn list_phase<T: Fit>(
    run: &RunHandle<'_>,
    kind: ObjectKind,
    pages: PageStream<'_, T>,
    staging: &mut Staging,
    staged: fn(Vec<T>) -> StagedPage,
) -> Result<(), Stopped> {
    let phase = match kind {
        ObjectKind::Account => RunPhase::Accounts,
        ObjectKind::Resource => RunPhase::Resources,
        ObjectKind::Access => RunPhase::Access,
    };
    run.enter_phase(phase).await?;
    // Progress events are written beside the listing, in order, so that it never waits on them
    // (unless the queue is full).
    let (progress, queued) = mpsc::channel(PROGRESS_QUEUE);
    let listing = stage_pages(run, kind, pages, staging, staged, progress);
    let reporting = report_progress(run, phase, queued);
    let (listed, reported) = tokio::join!(listing, reporting);
    let (processed, problems) = listed?;
    reported?;
    for problem in &problems.first {
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
            .message(format!("{processed} listed, {} unreadable", problems.count)),
    )
    .await?;
    Ok(())
}

/// The unreadable objects of one listing: all of them staged, the first few kept to report.
#[derive(Default)]
struct Problems {
    first: Vec<ObjectProblem>,
    count: usize,
    unstaged: Vec<ObjectProblem>,
}

impl Problems {
    fn add(&mut self, problem: ObjectProblem) {
        self.count += 1;
        if self.first.len() < REPORTED_PROBLEMS {
            self.first.push(problem.clone());
        }
        self.unstaged.push(problem);
    }

    /// Stages what is waiting: once a batch is full, or (`all`) at the end of the listing.
    async fn stage(
        &mut self,
        staging: &mut Staging,
        kind: ObjectKind,
        all: bool,
    ) -> Result<(), Stopped> {
        if self.unstaged.len() >= PROBLEM_BATCH || (all && !self.unstaged.is_empty()) {
            staging
                .problems(kind, &self.unstaged)
                .await
                .map_err(internal)?;
            self.unstaged.clear();
        }
        Ok(())
    }
}

/// The listing itself: pages into staging, the count so far queued for a progress event every
/// PROGRESS_INTERVAL. Returns how many objects were listed and the unreadable ones.
///
/// The next page is asked for while the last one is staged: a remote that answers page by page
/// (a query or an HTTP request each) works on it while this one is encoded and sent, instead
/// of waiting for it.
async fn stage_pages<T: Fit>(
    run: &RunHandle<'_>,
    kind: ObjectKind,
    mut pages: PageStream<'_, T>,
    staging: &mut Staging,
    staged: fn(Vec<T>) -> StagedPage,
    progress: mpsc::Sender<i64>,
) -> Result<(i64, Problems), Stopped> {
    let mut problems = Problems::default();
    let mut processed: i64 = 0;
    let mut reported: i64 = 0;
    let mut last_report = Instant::now();
    let mut page = next_page(run, &mut pages).await?;
    while let Some(listed) = page {
        let mut objects = Vec::new();
        for item in listed? {
            match item.and_then(Fit::fit) {
                Ok(object) => objects.push(object),
                Err(problem) => problems.add(storable(problem)),
            }
        }
        processed += objects.len() as i64;
        let stage = async {
            staging.stage(staged(objects)).await.map_err(internal)?;
            problems.stage(staging, kind, false).await
        };
        let (stored, next) = tokio::join!(stage, next_page(run, &mut pages));
        stored?;
        page = next?;
        if processed > reported && last_report.elapsed() >= PROGRESS_INTERVAL {
            if progress.send(processed).await.is_err() {
                // The reporter stopped on an error; it tells what went wrong.
                break;
            }
            reported = processed;
            last_report = Instant::now();
        }
    }
    problems.stage(staging, kind, true).await?;
    Ok((processed, problems))
}

/// The next page of a listing, unless the run is stopped first.
async fn next_page<T>(
    run: &RunHandle<'_>,
    pages: &mut PageStream<'_, T>,
) -> Result<Option<Result<Vec<Listed<T>>, ConnectorError>>, Stopped> {
    tokio::select! {
        page = pages.next() => Ok(page),
        () = run.stop.cancelled() => Err(Stopped::Cancelled),
    }
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
