//! Switching a resource between pull mode (the integration is the source of truth) and push
//! mode (Oblique is, and pushes its decisions).

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::grants::{ensure_live, expire_on_resource, lock_resource};
use super::remote_members;
use crate::connectors::IntegrationKind;
use crate::context::AppContext;
use crate::db::audit::{self, AuditEntry};
use crate::db::models::ResourceRow;
use crate::db::retry::transaction_retrying;
use crate::db::{grants, propagations, resources};
use crate::error::{AppError, AppResult};
use crate::model::{AuditAction, LinkUsersBy, Principal, SyncMode};

/// The reason recorded on grants made from the remote's members by a switch to push mode.
pub const ADOPTED_REASON: &str = "adopted when the resource switched to push mode";

/// Sets the resource's mode; returns it with its integration's last successful pull.
///
/// PULL → PUSH adopts the current remote members as grants (source `remote_adopted`, recorded as
/// in sync), so that the first push removes nobody by surprise: they are listed from the remote
/// system at the switch, since the last pull may be hours old. PUSH → PULL ("stop syncing")
/// forgets every pending push and retry to it at once; its grants stay, as history, and are not
/// pushed.
pub async fn set_resource_sync_mode(
    ctx: &AppContext,
    actor: &Principal,
    id: Uuid,
    mode: SyncMode,
) -> AppResult<(ResourceRow, Option<DateTime<Utc>>)> {
    // Listed before the transaction, with no connection held: the remote may take seconds.
    let members = match mode {
        SyncMode::Push => remote_members::current_members(ctx, id).await?,
        SyncMode::Pull => None,
    };
    let mut conn = ctx.pool.get().await?;
    transaction_retrying(&mut conn, "set resource sync mode", async |conn| {
        let (resource, integration) = lock_resource(conn, id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("resource {id}")))?;
        ensure_live(&resource, &integration)?;
        let can_push = IntegrationKind::from_name(&integration.integration_type)
            .is_some_and(|kind| kind.capabilities().can_push);
        if mode == SyncMode::Push && !can_push {
            return Err(AppError::FailedPrecondition(format!(
                "integrations of type {} cannot push",
                integration.integration_type
            )));
        }
        if mode == SyncMode::Push && integration.link_users_by == LinkUsersBy::None {
            // No account is anyone's: the first push would remove every member.
            return Err(AppError::FailedPrecondition(format!(
                "integration {} links no accounts to users (link_users_by is none), so pushing \
                 would remove every member of the resource; set its link_users_by first",
                integration.id
            )));
        }
        if resource.sync_mode == mode {
            return Ok((resource, integration.last_pulled_at));
        }
        let updated = resources::set_sync_mode(conn, id, mode, Utc::now()).await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::ResourceSyncMode,
                integration_id: Some(integration.id),
                resource_id: Some(id),
                details: json!({"from": resource.sync_mode.as_str(), "to": mode.as_str()}),
            },
        )
        .await?;
        match mode {
            SyncMode::Push => {
                // Grants that lapsed while in pull mode are closed first, so that a member
                // still present remotely is adopted rather than removed.
                expire_on_resource(conn, &resource, &integration, None).await?;
                let Some(members) = &members else {
                    // It was in push mode when it was listed, and switched back since.
                    return Err(AppError::FailedPrecondition(format!(
                        "resource {id} changed mode meanwhile; try again"
                    )));
                };
                // A member Oblique cannot make a grant for (an account no sync has seen yet,
                // or one linked to nobody) would be removed by the first push: refuse rather
                // than take anyone's access by surprise.
                let unknown = grants::unadoptable_members(conn, integration.id, members, 5).await?;
                if !unknown.is_empty() {
                    return Err(AppError::FailedPrecondition(format!(
                        "resource {id} has remote members (by external id) that are not accounts \
                         linked to a user (not synced yet, or linked to nobody): {}; sync the \
                         integration (and settle their links) first, then switch it to push mode",
                        unknown.join(", ")
                    )));
                }
                let adopted = grants::adopt_remote_members(
                    conn,
                    id,
                    integration.id,
                    members,
                    ADOPTED_REASON,
                    &actor.name,
                )
                .await?;
                if adopted > 0 {
                    audit::record(
                        conn,
                        AuditEntry {
                            actor,
                            action: AuditAction::AccessAdopt,
                            integration_id: Some(integration.id),
                            resource_id: Some(id),
                            details: json!({"adopted": adopted, "reason": ADOPTED_REASON}),
                        },
                    )
                    .await?;
                }
                tracing::info!(resource_id = %id, adopted, "resource switched to push mode");
            }
            SyncMode::Pull => {
                let forgotten = propagations::forget_resource(conn, id).await?;
                tracing::info!(resource_id = %id, forgotten, "resource switched to pull mode");
            }
        }
        Ok((updated, integration.last_pulled_at))
    })
    .await
}
