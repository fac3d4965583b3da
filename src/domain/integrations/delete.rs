//! Removing an integration: a soft delete of it and everything synced from it, kept as history.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::read::view;
use super::{IntegrationView, find_active_for_update};
use crate::context::AppContext;
use crate::db::audit::{self, AuditEntry};
use crate::db::integrations as store;
use crate::db::retry::transaction_retrying;
use crate::db::{access, accounts, grants, propagations, resources, runs};
use crate::error::{AppError, AppResult};
use crate::model::{AuditAction, Principal};

#[derive(Debug)]
pub struct Deletion {
    pub integration: IntegrationView,
    pub resources_soft_deleted: usize,
    pub accounts_soft_deleted: usize,
    pub cancelled_run_id: Option<Uuid>,
}

/// Soft deletes the integration with all its resources and accounts and cancels its active run.
/// Refused while push-mode resources exist, unless `force`.
pub async fn delete(
    ctx: &AppContext,
    actor: &Principal,
    id: Uuid,
    force: bool,
) -> AppResult<Deletion> {
    let mut conn = ctx.pool.get().await?;
    // Removal touches rows that syncs, pushes and grants of the integration also lock; when
    // PostgreSQL breaks a deadlock by aborting this transaction, it is simply run again.
    let deletion = transaction_retrying(&mut conn, "delete integration", async |conn| {
        find_active_for_update(conn, id).await?;
        let push_mode = resources::count_push_mode(conn, id).await?;
        if push_mode > 0 && !force {
            return Err(AppError::FailedPrecondition(format!(
                "integration {id} has {push_mode} push-mode resource(s); stop syncing \
                 them first (SetResourceSyncMode to SYNC_MODE_PULL) or delete with force"
            )));
        }
        let now = Utc::now();
        let cancelled = runs::cancel_active(conn, id, "integration deleted").await?;
        let row = store::mark_deleted(conn, id, now).await?;
        let resources_soft_deleted = resources::soft_delete_for_integration(conn, id, now).await?;
        let accounts_soft_deleted = accounts::soft_delete_for_integration(conn, id, now).await?;
        access::close_for_integration(conn, id, now).await?;
        // Kept as history; nothing is pushed for them again, retries included.
        let grants_soft_deleted = grants::soft_delete_for_integration(conn, id, now).await?;
        propagations::forget_integration(conn, id).await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::IntegrationDelete,
                integration_id: Some(id),
                resource_id: None,
                details: json!({
                    "name": row.name,
                    "force": force,
                    "push_mode_resources": push_mode,
                    "resources_soft_deleted": resources_soft_deleted,
                    "accounts_soft_deleted": accounts_soft_deleted,
                    "grants_soft_deleted": grants_soft_deleted,
                    "cancelled_run_id": cancelled.as_ref().map(|run| run.id),
                }),
            },
        )
        .await?;
        Ok((
            row,
            resources_soft_deleted,
            accounts_soft_deleted,
            cancelled,
        ))
    })
    .await?;
    let (row, resources_soft_deleted, accounts_soft_deleted, cancelled) = deletion;
    tracing::info!(integration_id = %id, resources_soft_deleted, accounts_soft_deleted, "integration deleted");
    Ok(Deletion {
        integration: view(&mut conn, row).await?,
        resources_soft_deleted,
        accounts_soft_deleted,
        cancelled_run_id: cancelled.map(|run| run.id),
    })
}
