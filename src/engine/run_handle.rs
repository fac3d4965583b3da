//! What a phase of a run needs of the run itself: which run it is, a way to report progress,
//! to record the phase it is in, to notice it was stopped, and to end it. Phases get this
//! instead of the whole engine.

use tokio_util::sync::CancellationToken;

use super::stopped::{Stopped, internal};
use crate::db::Pool;
use crate::db::models::SyncRunRow;
use crate::db::run_events::{self as events, EventDraft, EventKind};
use crate::db::runs::{self, Ending, Finish};
use crate::model::RunPhase;
use crate::model::run_stats::RunStats;

/// A run this worker claimed, while it runs.
pub struct RunHandle<'a> {
    pub run: &'a SyncRunRow,
    /// The worker holding it: the run is ended only while this worker still holds it.
    pub worker: &'a str,
    /// Fired when the run stops being ours (cancelled, integration deleted, lease lost).
    pub stop: &'a CancellationToken,
    pool: &'a Pool,
}

impl<'a> RunHandle<'a> {
    pub fn new(
        pool: &'a Pool,
        run: &'a SyncRunRow,
        worker: &'a str,
        stop: &'a CancellationToken,
    ) -> Self {
        RunHandle {
            run,
            worker,
            stop,
            pool,
        }
    }

    /// Stores and publishes one of the run's events.
    pub async fn emit(&self, draft: EventDraft) -> Result<(), Stopped> {
        let mut conn = self.pool.get().await.map_err(internal)?;
        events::emit(&mut conn, self.run.id, draft)
            .await
            .map_err(internal)
    }

    /// Records that the run entered `phase` and says so with a PHASE_STARTED event.
    pub async fn enter_phase(&self, phase: RunPhase) -> Result<(), Stopped> {
        let mut conn = self.pool.get().await.map_err(internal)?;
        runs::set_phase(&mut conn, self.run.id, phase)
            .await
            .map_err(internal)?;
        events::emit(
            &mut conn,
            self.run.id,
            EventDraft::new(EventKind::PhaseStarted).phase(phase),
        )
        .await
        .map_err(internal)
    }

    /// `Err(Cancelled)` once the run was stopped.
    pub fn check_not_stopped(&self) -> Result<(), Stopped> {
        if self.stop.is_cancelled() {
            return Err(Stopped::Cancelled);
        }
        Ok(())
    }

    /// Ends the run as succeeded with `stats`; `Err(Cancelled)` when it was no longer ours.
    pub async fn succeed(&self, stats: RunStats, summary: String) -> Result<RunStats, Stopped> {
        let mut conn = self.pool.get().await.map_err(internal)?;
        let succeeded = Finish {
            run_id: self.run.id,
            holder: Some(self.worker),
            ending: Ending::Succeeded { stats, summary },
            ended_by: None,
        };
        match runs::finish(&mut conn, &succeeded)
            .await
            .map_err(internal)?
        {
            Some(_) => Ok(stats),
            None => Err(Stopped::Cancelled),
        }
    }
}
