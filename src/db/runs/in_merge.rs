//! The lifecycle statements the merge runs inside its own transaction, on the engine's
//! tokio-postgres staging connection (diesel cannot do the binary COPY that fills staging):
//! the merge's changes and the run's ending commit together or not at all. They run the same
//! SQL, with the same values, as their diesel counterparts.

use tokio_postgres::Transaction;
use uuid::Uuid;

use super::finish::{FINISH_SQL, Finish};
use crate::db::run_events::emit_in;
use crate::model::run_stats::RunStats;
use crate::model::{AuditAction, RunState};

/// [`super::finish`] inside the merge transaction; false when the run was no longer ours, and
/// the caller then rolls the merge back.
pub async fn finish_in(
    tx: &Transaction<'_>,
    finish: &Finish<'_>,
) -> Result<bool, tokio_postgres::Error> {
    let columns = finish.columns();
    let ended = tx
        .query_opt(
            FINISH_SQL,
            &[
                &finish.run_id,
                &columns.state.as_str(),
                &columns.stats,
                &columns.error,
                &columns.holder,
                &columns.actor_name,
                &columns.actor_role,
                &columns.action.map(AuditAction::as_str),
                &columns.details,
            ],
        )
        .await?;
    if ended.is_some() {
        emit_in(tx, finish.run_id, finish.final_event()).await?;
    }
    Ok(ended.is_some())
}

/// Records the merge's stats on a run that `worker` still holds, when a push phase follows
/// the merge. The row stays locked until the merge commits, so that a cancellation lands either
/// before (nothing applied) or after. False when the run was no longer ours.
pub async fn hold_in(
    tx: &Transaction<'_>,
    run_id: Uuid,
    worker: &str,
    stats: &RunStats,
) -> Result<bool, tokio_postgres::Error> {
    let stats = serde_json::to_value(stats).unwrap_or_default();
    let held = tx
        .execute(
            "UPDATE sync_runs SET stats = $3
             WHERE id = $1 AND state = $4 AND claimed_by = $2",
            &[&run_id, &worker, &stats, &RunState::Running.as_str()],
        )
        .await?;
    Ok(held == 1)
}
