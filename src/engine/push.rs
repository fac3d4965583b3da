//! Push: for every push-mode resource, make the remote members what Oblique decided (grants and
//! team members), through the connector, one idempotent operation at a time. Each outcome is
//! recorded per (resource, user) in `propagations`; failures are retried with capped
//! exponential backoff. Removing a member nobody decided on, or putting back one that was
//! pushed before, corrects drift and is audited.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Engine;
use super::access_key::access_pair_key;
use super::propagation::{
    PendingMark, audit_drift, mark_in_sync, record_failure, set_in_sync, settle,
};
use super::runner::{Stopped, internal};
use crate::connectors::Connector;
use crate::db::models::{IntegrationRow, SyncRunRow};
use crate::db::run_events::{EventDraft, EventKind, Phase};
use crate::model::run_stats::ChangeCounts;

/// Every operation the push-mode resources of an integration need, with what the last push of
/// each did. `op`: add (desired, not a remote member), remove (a remote member not desired),
/// keep (both).
const PLAN: &str = "
    WITH push_resources AS (
        SELECT id, external_id, name FROM resources
        WHERE integration_id = $1 AND deleted_at IS NULL AND sync_mode = 'push'
    ), desired AS (
        SELECT DISTINCT d.resource_id, d.user_id,
               (SELECT a.id FROM accounts a
                WHERE a.integration_id = $1 AND a.user_id = d.user_id AND a.deleted_at IS NULL
                ORDER BY a.link_conflict IS NOT NULL, a.id LIMIT 1) AS account_id
        FROM desired_access d JOIN push_resources r ON r.id = d.resource_id
    ), actual AS (
        SELECT p.resource_id, p.account_id, a.user_id
        FROM pulled_access p
        JOIN push_resources r ON r.id = p.resource_id
        JOIN accounts a ON a.id = p.account_id
        WHERE p.removed_at IS NULL
    ), plan AS (
        SELECT 'add' AS op, d.resource_id, d.user_id, d.account_id FROM desired d
        WHERE d.account_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM actual x
                          WHERE x.resource_id = d.resource_id AND x.account_id = d.account_id)
        UNION ALL
        SELECT 'remove', x.resource_id, x.user_id, x.account_id FROM actual x
        WHERE NOT EXISTS (SELECT 1 FROM desired d
                          WHERE d.resource_id = x.resource_id AND d.account_id = x.account_id)
        UNION ALL
        SELECT 'keep', d.resource_id, d.user_id, d.account_id FROM desired d
        JOIN actual x ON x.resource_id = d.resource_id AND x.account_id = d.account_id
    )
    SELECT plan.op, plan.resource_id, r.external_id AS resource_external_id,
           r.name AS resource_name, plan.user_id, plan.account_id,
           a.external_id AS account_external_id, a.username, a.link_conflict,
           pr.status AS last_status, COALESCE(pr.attempts, 0) AS attempts,
           COALESCE(pr.next_attempt_at <= now(), true) AS due
    FROM plan
    JOIN push_resources r ON r.id = plan.resource_id
    LEFT JOIN accounts a ON a.id = plan.account_id
    LEFT JOIN propagations pr ON pr.resource_id = plan.resource_id AND pr.user_id = plan.user_id
    ORDER BY plan.resource_id, plan.op, a.username";

#[derive(Debug, QueryableByName)]
pub(super) struct Step {
    #[diesel(sql_type = Text)]
    pub(super) op: String,
    #[diesel(sql_type = SqlUuid)]
    pub(super) resource_id: Uuid,
    #[diesel(sql_type = Text)]
    pub(super) resource_external_id: String,
    #[diesel(sql_type = Text)]
    pub(super) resource_name: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub(super) user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub(super) account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) account_external_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) username: Option<String>,
    /// Set when the account's link to the user is held: nothing that gives access goes to it.
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) link_conflict: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(super) last_status: Option<String>,
    #[diesel(sql_type = Integer)]
    pub(super) attempts: i32,
    #[diesel(sql_type = Bool)]
    pub(super) due: bool,
}

/// Reconciles every push-mode resource of the integration. Failed operations do not fail the
/// run: they are recorded and retried.
pub async fn reconcile(
    engine: &Engine,
    run: &SyncRunRow,
    integration: &IntegrationRow,
    connector: &dyn Connector,
    stop: &CancellationToken,
) -> Result<(ChangeCounts, i64), Stopped> {
    engine
        .set_phase(run.id, Phase::Push)
        .await
        .map_err(internal)?;
    engine
        .emit(
            run.id,
            EventDraft::new(EventKind::PhaseStarted).phase(Phase::Push),
        )
        .await
        .map_err(internal)?;
    let (pending, steps) = {
        let mut conn = engine.ctx.pool.get().await.map_err(internal)?;
        // Read first: a mark made after this is never mistaken for one the plan covered.
        let pending: Vec<PendingMark> = diesel::sql_query(
            "SELECT resource_id, user_id, updated_at FROM propagations
             WHERE integration_id = $1 AND status = 'pending'",
        )
        .bind::<SqlUuid, _>(integration.id)
        .load(&mut conn)
        .await
        .map_err(internal)?;
        let steps: Vec<Step> = diesel::sql_query(PLAN)
            .bind::<SqlUuid, _>(integration.id)
            .load(&mut conn)
            .await
            .map_err(internal)?;
        (pending, steps)
    };
    // A person asking for a sync wants every failed push tried again now, backoff or not.
    let retry_all = run.trigger == "manual";
    let mut counts = ChangeCounts::default();
    let mut failed = 0;
    for step in steps {
        if stop.is_cancelled() {
            return Err(Stopped::Cancelled);
        }
        let outcome = match step.op.as_str() {
            "keep" => {
                counts.unchanged += 1;
                mark_in_sync(engine, &step).await
            }
            _ if !step.due && !retry_all => continue,
            "add" => {
                add(
                    engine,
                    run,
                    integration,
                    connector,
                    &step,
                    &mut counts,
                    &mut failed,
                )
                .await
            }
            _ => {
                remove(
                    engine,
                    run,
                    integration,
                    connector,
                    &step,
                    &mut counts,
                    &mut failed,
                )
                .await
            }
        };
        outcome.map_err(internal)?;
    }
    settle(engine, integration.id, &pending)
        .await
        .map_err(internal)?;
    engine
        .emit(
            run.id,
            EventDraft::new(EventKind::PhaseFinished)
                .phase(Phase::Push)
                .progress(counts.created + counts.deleted + counts.unchanged)
                .message(format!(
                    "{} added, {} removed, {} already as decided, {failed} failed",
                    counts.created, counts.deleted, counts.unchanged
                )),
        )
        .await
        .map_err(internal)?;
    Ok((counts, failed))
}

async fn add(
    engine: &Engine,
    run: &SyncRunRow,
    integration: &IntegrationRow,
    connector: &dyn Connector,
    step: &Step,
    counts: &mut ChangeCounts,
    failed: &mut i64,
) -> anyhow::Result<()> {
    let (Some(account_id), Some(account_external_id)) =
        (step.account_id, &step.account_external_id)
    else {
        *failed += 1;
        let reason = format!(
            "user {} has no account in integration {:?}",
            step.user_id.map(|id| id.to_string()).unwrap_or_default(),
            integration.name
        );
        return record_failure(engine, step, &reason).await;
    };
    if let Some(conflict) = &step.link_conflict {
        // The account may not be this user's: giving it the user's access could hand it to
        // someone else. Removals still go through: taking access away is never the unsafe way.
        *failed += 1;
        let reason = format!(
            "account {account_external_id:?} is held from user {}: its link is in conflict \
             ({conflict}); nothing is added until a sync finds the conflict gone",
            step.user_id.map(|id| id.to_string()).unwrap_or_default(),
        );
        return record_failure(engine, step, &reason).await;
    }
    match connector
        .add_member(&step.resource_external_id, account_external_id)
        .await
    {
        Ok(()) => {
            counts.created += 1;
            // It was pushed before and is missing now: someone removed it by hand.
            let drift = step.last_status.as_deref() == Some("in_sync");
            let pair_key = access_pair_key(&step.resource_external_id, account_external_id);
            let mut conn = engine.ctx.pool.get().await?;
            conn.transaction::<_, anyhow::Error, _>(async |conn| {
                diesel::sql_query(
                    "INSERT INTO pulled_access (integration_id, resource_id, account_id, pair_key)
                     SELECT $1, $2, $3, $4
                     WHERE NOT EXISTS (SELECT 1 FROM pulled_access
                                       WHERE resource_id = $2 AND account_id = $3 AND removed_at IS NULL)",
                )
                .bind::<SqlUuid, _>(integration.id)
                .bind::<SqlUuid, _>(step.resource_id)
                .bind::<SqlUuid, _>(account_id)
                .bind::<BigInt, _>(pair_key)
                .execute(conn)
                .await?;
                set_in_sync(conn, step).await?;
                if drift {
                    audit_drift(conn, run, integration, step, "absent", "member").await?;
                }
                Ok(())
            })
            .await
        }
        Err(error) => {
            *failed += 1;
            record_failure(engine, step, &error.to_string()).await
        }
    }
}

async fn remove(
    engine: &Engine,
    run: &SyncRunRow,
    integration: &IntegrationRow,
    connector: &dyn Connector,
    step: &Step,
    counts: &mut ChangeCounts,
    failed: &mut i64,
) -> anyhow::Result<()> {
    let (Some(account_id), Some(account_external_id)) =
        (step.account_id, &step.account_external_id)
    else {
        return Ok(());
    };
    match connector
        .remove_member(&step.resource_external_id, account_external_id)
        .await
    {
        Ok(()) => {
            counts.deleted += 1;
            // A pending propagation is a decision being carried out (a revocation, a team
            // member leaving); anything else is a member nobody decided on: drift.
            let drift = step.last_status.as_deref() != Some("pending");
            let mut conn = engine.ctx.pool.get().await?;
            conn.transaction::<_, anyhow::Error, _>(async |conn| {
                diesel::sql_query(
                    "UPDATE pulled_access SET removed_at = now()
                     WHERE resource_id = $1 AND account_id = $2 AND removed_at IS NULL",
                )
                .bind::<SqlUuid, _>(step.resource_id)
                .bind::<SqlUuid, _>(account_id)
                .execute(conn)
                .await?;
                if let Some(user_id) = step.user_id {
                    diesel::sql_query(
                        "DELETE FROM propagations WHERE resource_id = $1 AND user_id = $2",
                    )
                    .bind::<SqlUuid, _>(step.resource_id)
                    .bind::<SqlUuid, _>(user_id)
                    .execute(conn)
                    .await?;
                }
                if drift {
                    audit_drift(conn, run, integration, step, "member", "absent").await?;
                }
                Ok(())
            })
            .await
        }
        Err(error) => {
            *failed += 1;
            record_failure(engine, step, &error.to_string()).await
        }
    }
}
