//! A dry run's recorded difference (ListSyncRunChanges). Only a dry run that succeeded has one:
//! it is stored in the transaction that ends the run, so a run still going, failed or cancelled
//! has none, and saying so beats answering an empty list that reads as "no difference".

use uuid::Uuid;

use super::RunChangeRow;
use crate::context::AppContext;
use crate::db::{run_changes, runs};
use crate::error::{AppError, AppResult};
use crate::model::RunState;

/// Up to `limit` of the dry run's changes in list order, after the change numbered `after`.
/// NOT_FOUND for an unknown run; FAILED_PRECONDITION for a run that is not a succeeded dry run.
pub async fn changes(
    ctx: &AppContext,
    run_id: Uuid,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<RunChangeRow>> {
    let mut conn = ctx.pool.get().await?;
    let run = runs::find(&mut conn, run_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("sync run {run_id}")))?;
    if !run.dry_run {
        return Err(AppError::FailedPrecondition(format!(
            "sync run {run_id} is not a dry run: only dry runs record their changes; see \
             ListAccess and the audit log"
        )));
    }
    match run.state {
        RunState::Succeeded => {}
        RunState::Queued | RunState::Running => {
            return Err(AppError::FailedPrecondition(format!(
                "dry run {run_id} is still {}: its changes are recorded when it succeeds",
                run.state
            )));
        }
        RunState::Failed | RunState::Cancelled => {
            return Err(AppError::FailedPrecondition(format!(
                "dry run {run_id} {}: it recorded no changes",
                run.state
            )));
        }
    }
    Ok(run_changes::list_page(&mut conn, run_id, after, limit).await?)
}
