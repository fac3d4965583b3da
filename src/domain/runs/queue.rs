//! Asking for sync runs and cancelling them.

use serde_json::json;
use uuid::Uuid;

use super::SyncRunRow;
use crate::context::AppContext;
use crate::db::audit::{self, AuditEntry};
use crate::db::integrations;
use crate::db::models::NewSyncRun;
use crate::db::retry::transaction_retrying;
use crate::db::runs::{self, EndedBy, Ending, Finish};
use crate::error::{AppError, AppResult};
use crate::model::{AuditAction, Principal, RunState, RunTrigger};

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    pub dry_run: bool,
    pub allow_mass_deletion: bool,
}

/// Queues a manual run, or returns the integration's run that is already queued or running.
pub async fn trigger(
    ctx: &AppContext,
    actor: &Principal,
    integration_id: Uuid,
    options: RunOptions,
) -> AppResult<SyncRunRow> {
    let mut conn = ctx.pool.get().await?;
    let outcome = transaction_retrying(&mut conn, "trigger sync run", async |conn| {
        let integration = integrations::find(conn, integration_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("integration {integration_id}")))?;
        if integration.deleted_at.is_some() {
            return Err(AppError::FailedPrecondition(format!(
                "integration {integration_id} is deleted and is never synced again"
            )));
        }
        if let Some(active) = runs::find_active(conn, integration_id).await? {
            return Ok(active);
        }
        let run = runs::enqueue(
            conn,
            &NewSyncRun {
                id: Uuid::now_v7(),
                integration_id,
                trigger: RunTrigger::Manual,
                dry_run: options.dry_run,
                allow_mass_deletion: options.allow_mass_deletion,
                requested_by: &actor.name,
            },
        )
        .await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::SyncTrigger,
                integration_id: Some(integration_id),
                resource_id: None,
                details: json!({
                    "run_id": run.id,
                    "dry_run": options.dry_run,
                    "allow_mass_deletion": options.allow_mass_deletion,
                }),
            },
        )
        .await?;
        Ok(run)
    })
    .await;
    match outcome {
        // Another caller queued a run between our check and insert: theirs is the answer.
        Err(error) if error.is_unique_violation_on(ONE_ACTIVE_RUN_CONSTRAINT) => {
            runs::find_active(&mut conn, integration_id)
                .await?
                .ok_or_else(|| AppError::Unavailable("sync run queue is busy, retry".into()))
        }
        other => other,
    }
}

/// The unique index that keeps an integration to one queued or running run.
const ONE_ACTIVE_RUN_CONSTRAINT: &str = "sync_runs_one_active";

/// Cancels a queued or running run; cancelling a cancelled run answers with it unchanged.
pub async fn cancel(ctx: &AppContext, actor: &Principal, run_id: Uuid) -> AppResult<SyncRunRow> {
    let mut conn = ctx.pool.get().await?;
    transaction_retrying(&mut conn, "cancel sync run", async |conn| {
        let run = runs::find_for_update(conn, run_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("sync run {run_id}")))?;
        match run.state {
            RunState::Cancelled => return Ok(run),
            RunState::Succeeded | RunState::Failed => {
                return Err(AppError::FailedPrecondition(format!(
                    "sync run {run_id} already finished ({})",
                    run.state
                )));
            }
            RunState::Queued | RunState::Running => {}
        }
        let cancel = Finish {
            run_id,
            holder: None,
            ending: Ending::Cancelled {
                reason: format!("cancelled by {}", actor.name),
            },
            ended_by: Some(EndedBy {
                actor,
                action: AuditAction::SyncCancel,
                details: json!({"run_id": run_id, "state_before": run.state}),
            }),
        };
        // Locked above in an active state, so it is still there to cancel.
        runs::finish(conn, &cancel).await?.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("sync run {run_id} could not be cancelled"))
        })
    })
    .await
}
