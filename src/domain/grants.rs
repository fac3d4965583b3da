//! Access decisions: granting, revoking, and the expiry of grants. Each decision commits with
//! its propagation marker (so the push engine adds or removes the member), the request for a
//! push within seconds, and its audit event.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use crate::context::AppContext;
use crate::db::audit::{self, AuditEntry};
use crate::db::grants::{self, NewGrant};
use crate::db::models::{IntegrationRow, ResourceRow};
use crate::db::retry::transaction_retrying;
use crate::db::runs;
use crate::db::{accounts, propagations, resources, users};
use crate::error::{AppError, AppResult};
use crate::model::{AccessSource, AuditAction, Principal, RunTrigger, SyncMode};

/// What a decision or a grant query answers with: the grant and the state of pushing it.
pub use crate::db::grants::{GrantRow, GrantView};

/// The run trigger of pushes that decisions ask for.
const PUSH_TRIGGER: RunTrigger = RunTrigger::Grant;
/// Grants expired by [`expire_due`] per call; the next call takes the rest.
const EXPIRY_BATCH: i64 = 500;

/// A grant request whose fields the api layer checked (reason present and not too long,
/// `expires_at` in the future).
#[derive(Debug, Clone)]
pub struct GrantInput {
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Grants `user_id` access to a push-mode resource; when an active grant exists, returns it
/// unchanged.
pub async fn grant(ctx: &AppContext, actor: &Principal, input: GrantInput) -> AppResult<GrantView> {
    let mut conn = ctx.pool.get().await?;
    transaction_retrying(&mut conn, "grant access", async |conn| {
        let (resource, integration) = lock_resource(conn, input.resource_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("resource {}", input.resource_id)))?;
        if users::find(conn, input.user_id).await?.is_none() {
            return Err(AppError::not_found(format!("user {}", input.user_id)));
        }
        ensure_live(&resource, &integration)?;
        if resource.sync_mode != SyncMode::Push {
            return Err(AppError::FailedPrecondition(format!(
                "resource {} is in pull mode: the integration is the source of truth; switch \
                 the resource to push mode first",
                resource.id
            )));
        }
        // A member the remote does not know cannot be added: say so now rather than accept a
        // grant whose push can only ever fail.
        if !accounts::user_has_account(conn, integration.id, input.user_id).await? {
            return Err(AppError::FailedPrecondition(format!(
                "user {} has no account in integration {:?}: Oblique can only add members the \
                 remote system knows; create the account there (the next sync brings it) or \
                 link the user's account first",
                input.user_id, integration.name
            )));
        }
        // An expired grant not yet revoked by the scheduler must not pass for the active one.
        expire_on_resource(conn, &resource, &integration, Some(input.user_id)).await?;
        if let Some(existing) = grants::find_active(conn, resource.id, input.user_id).await? {
            return Ok(grants::view(conn, existing.id).await?);
        }
        let row = grants::insert(
            conn,
            &NewGrant {
                id: Uuid::now_v7(),
                resource_id: resource.id,
                user_id: input.user_id,
                source: AccessSource::Grant,
                reason: &input.reason,
                granted_by: &actor.name,
                expires_at: input.expires_at,
            },
        )
        .await?;
        propagations::mark_pending(conn, resource.id, input.user_id).await?;
        runs::request_push(conn, integration.id, PUSH_TRIGGER, &actor.name).await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::AccessGrant,
                integration_id: Some(integration.id),
                resource_id: Some(resource.id),
                details: json!({
                    "grant_id": row.id,
                    "user_id": row.user_id,
                    "reason": row.reason,
                    "expires_at": row.expires_at,
                }),
            },
        )
        .await?;
        tracing::info!(grant_id = %row.id, resource_id = %resource.id, user_id = %row.user_id, "access granted");
        Ok(grants::view(conn, row.id).await?)
    })
    .await
}

/// Revokes a grant; an already revoked one is returned unchanged. On a resource still pushed
/// to, the member is removed at the next push (unless a team still wants it).
pub async fn revoke(
    ctx: &AppContext,
    actor: &Principal,
    grant_id: Uuid,
    reason: String,
) -> AppResult<GrantView> {
    let mut conn = ctx.pool.get().await?;
    let found = grants::find(&mut conn, grant_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("grant {grant_id}")))?;
    transaction_retrying(&mut conn, "revoke access", async |conn| {
        let (resource, integration) = lock_resource(conn, found.resource_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("resource of grant {grant_id} vanished"))?;
        let current = grants::find_for_update(conn, grant_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("grant {grant_id}")))?;
        if current.revoked_at.is_some() {
            return Ok(grants::view(conn, grant_id).await?);
        }
        if current.deleted_at.is_some() {
            return Err(AppError::FailedPrecondition(format!(
                "grant {grant_id} belongs to a removed integration"
            )));
        }
        let row = grants::revoke(conn, grant_id, &actor.name, &reason)
            .await?
            .ok_or_else(|| anyhow::anyhow!("grant {grant_id} was not active under its lock"))?;
        let pushed = is_pushed(&resource, &integration);
        if pushed {
            propagations::mark_pending(conn, resource.id, row.user_id).await?;
            runs::request_push(conn, integration.id, PUSH_TRIGGER, &actor.name).await?;
        }
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::AccessRevoke,
                integration_id: Some(integration.id),
                resource_id: Some(resource.id),
                details: json!({
                    "grant_id": row.id,
                    "user_id": row.user_id,
                    "reason": reason,
                    "source": row.source,
                    "pushed": pushed,
                }),
            },
        )
        .await?;
        tracing::info!(grant_id = %row.id, resource_id = %resource.id, user_id = %row.user_id, "access revoked");
        Ok(grants::view(conn, grant_id).await?)
    })
    .await
}

/// Revokes the grants whose `expires_at` has passed (revoked by `system`, reason `expired`),
/// each in its own short transaction, and asks for their removal to be pushed. A grant that
/// fails is logged and left for the next call. Returns how many were revoked; a call takes at
/// most [`EXPIRY_BATCH`], the next call the rest. Safe to run on every replica at once: a grant
/// is revoked once, under its resource's lock.
pub async fn expire_due(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let due = grants::due_to_expire(conn, EXPIRY_BATCH).await?;
    let mut expired = 0;
    for (grant_id, resource_id) in due {
        // One transaction per grant: holding many resource locks at once could deadlock with
        // a DeleteIntegration locking the same resources in another order.
        let revoked: QueryResult<bool> = conn
            .transaction(async |conn| {
                let Some((resource, integration)) = lock_resource(conn, resource_id).await? else {
                    return Ok(false);
                };
                let Some(row) = grants::revoke(conn, grant_id, SYSTEM, EXPIRED).await? else {
                    return Ok(false);
                };
                record_expiry(conn, &row, &resource, &integration).await?;
                if is_pushed(&resource, &integration) {
                    runs::request_push(conn, integration.id, PUSH_TRIGGER, SYSTEM).await?;
                }
                Ok::<_, diesel::result::Error>(true)
            })
            .await;
        match revoked {
            Ok(revoked) => expired += usize::from(revoked),
            // One grant that cannot be expired now (a lock wait that timed out, say) must not
            // keep the others: it stays due and the next call tries it again.
            Err(error) => tracing::warn!(%error, %grant_id, "expiring a grant failed"),
        }
    }
    if expired > 0 {
        tracing::info!(expired, "expired grants revoked");
    }
    Ok(expired)
}

/// Revokes due grants every `every` (once at once) until `shutdown` fires. Every replica runs
/// it; [`expire_due`] revokes each grant once.
pub async fn expire_periodically(
    ctx: AppContext,
    every: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        let expired = async {
            let mut conn = ctx.pool.get().await?;
            anyhow::Ok(expire_due(&mut conn).await?)
        };
        if let Err(error) = expired.await {
            tracing::warn!(error = format!("{error:#}"), "expiring grants failed");
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

const SYSTEM: &str = crate::model::principal::SYSTEM_NAME;
const EXPIRED: &str = "expired";

/// Revokes the expired grants on a resource whose lock the caller holds (of one user, if
/// given), as [`expire_due`] would. The caller requests the push.
pub(crate) async fn expire_on_resource(
    conn: &mut AsyncPgConnection,
    resource: &ResourceRow,
    integration: &IntegrationRow,
    user_id: Option<Uuid>,
) -> QueryResult<usize> {
    let ids = grants::expired_on_resource(conn, resource.id, user_id).await?;
    let mut expired = 0;
    for id in ids {
        if let Some(row) = grants::revoke(conn, id, SYSTEM, EXPIRED).await? {
            record_expiry(conn, &row, resource, integration).await?;
            expired += 1;
        }
    }
    Ok(expired)
}

async fn record_expiry(
    conn: &mut AsyncPgConnection,
    row: &GrantRow,
    resource: &ResourceRow,
    integration: &IntegrationRow,
) -> QueryResult<()> {
    if is_pushed(resource, integration) {
        propagations::mark_pending(conn, resource.id, row.user_id).await?;
    }
    audit::record(
        conn,
        AuditEntry {
            actor: &Principal::system(),
            action: AuditAction::AccessExpire,
            integration_id: Some(integration.id),
            resource_id: Some(resource.id),
            details: json!({
                "grant_id": row.id,
                "user_id": row.user_id,
                "source": row.source,
                "expires_at": row.expires_at,
            }),
        },
    )
    .await
}

/// The resource, locked until the transaction ends, and its integration, held against removal.
/// The integration is taken first: the order DeleteIntegration locks them in.
pub(crate) async fn lock_resource(
    conn: &mut AsyncPgConnection,
    resource_id: Uuid,
) -> QueryResult<Option<(ResourceRow, IntegrationRow)>> {
    let Some(resource) = resources::find(conn, resource_id).await? else {
        return Ok(None);
    };
    let Some(integration) = grants::hold_integration(conn, resource.integration_id).await? else {
        return Ok(None);
    };
    let resource = resources::find_for_update(conn, resource_id).await?;
    Ok(resource.map(|resource| (resource, integration)))
}

/// FAILED_PRECONDITION when the resource or its integration is deleted.
pub(crate) fn ensure_live(resource: &ResourceRow, integration: &IntegrationRow) -> AppResult<()> {
    if resource.deleted_at.is_some() {
        return Err(AppError::FailedPrecondition(format!(
            "resource {} is deleted",
            resource.id
        )));
    }
    if integration.deleted_at.is_some() {
        return Err(AppError::FailedPrecondition(format!(
            "the integration of resource {} is deleted",
            resource.id
        )));
    }
    Ok(())
}

/// Whether decisions on the resource reach the remote system: push mode, nothing deleted.
fn is_pushed(resource: &ResourceRow, integration: &IntegrationRow) -> bool {
    resource.sync_mode == SyncMode::Push
        && resource.deleted_at.is_none()
        && integration.deleted_at.is_none()
}
