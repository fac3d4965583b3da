//! Joining and leaving a team: each change is pushed to every resource the team has.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::{TeamDetails, details, ensure_users};
use crate::context::AppContext;
use crate::db::audit::{self, AuditEntry};
use crate::db::propagations;
use crate::db::retry::transaction_retrying;
use crate::db::runs;
use crate::db::teams as store;
use crate::error::{AppError, AppResult};
use crate::model::{AuditAction, Principal, RunTrigger};

/// Makes the user a member and queues the push of it to each of the team's resources; a
/// member already is one, and nothing changes.
pub async fn add_member(
    ctx: &AppContext,
    actor: &Principal,
    team_id: Uuid,
    user_id: Uuid,
) -> AppResult<TeamDetails> {
    change_membership(ctx, actor, team_id, user_id, Change::Add).await
}

/// Ends the user's membership and queues its removal from each of the team's resources; a
/// non-member stays one, and nothing changes.
pub async fn remove_member(
    ctx: &AppContext,
    actor: &Principal,
    team_id: Uuid,
    user_id: Uuid,
) -> AppResult<TeamDetails> {
    change_membership(ctx, actor, team_id, user_id, Change::Remove).await
}

#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
}

async fn change_membership(
    ctx: &AppContext,
    actor: &Principal,
    team_id: Uuid,
    user_id: Uuid,
    change: Change,
) -> AppResult<TeamDetails> {
    let mut conn = ctx.pool.get().await?;
    let team = transaction_retrying(&mut conn, "change team membership", async |conn| {
        let team = store::find_for_update(conn, team_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("team {team_id}")))?;
        ensure_users(conn, &[user_id]).await?;
        let now = Utc::now();
        let (changed, action) = match change {
            Change::Add => (
                store::add_member(conn, team_id, user_id).await?,
                AuditAction::TeamAddMember,
            ),
            Change::Remove => (
                store::remove_member(conn, team_id, user_id, now).await?,
                AuditAction::TeamRemoveMember,
            ),
        };
        if !changed {
            return Ok(team);
        }
        store::touch(conn, team_id, now).await?;
        let resources = store::pushed_resources(conn, team_id).await?;
        let mut integration_ids: Vec<Uuid> = Vec::new();
        for resource in &resources {
            propagations::mark_pending(conn, resource.id, user_id).await?;
            if !integration_ids.contains(&resource.integration_id) {
                integration_ids.push(resource.integration_id);
            }
        }
        for integration_id in &integration_ids {
            runs::request_push(conn, *integration_id, RunTrigger::Team, &actor.name).await?;
        }
        let resource_ids: Vec<Uuid> = resources.iter().map(|resource| resource.id).collect();
        audit::record(
            conn,
            AuditEntry {
                actor,
                action,
                integration_id: None,
                resource_id: None,
                details: json!({
                    "team_id": team_id,
                    "name": team.name,
                    "user_id": user_id,
                    "resource_ids": resource_ids,
                }),
            },
        )
        .await?;
        Ok(team)
    })
    .await?;
    details(&mut conn, team).await
}
