//! Push: for every push-mode resource, make the remote members what Oblique decided (grants and
//! team members), through the connector, one idempotent operation at a time. Each outcome is
//! recorded per (resource, user) in `propagations`; failures are retried with capped
//! exponential backoff. Removing a member nobody decided on, or putting back one that was
//! pushed before, corrects drift and is audited.

use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::Engine;
use super::access_key::access_pair_key;
use super::propagation::{
    PendingMark, audit_drift, mark_in_sync, record_failure, set_in_sync, settle,
};
use super::push_plan::{PLAN, Step};
use super::run_handle::RunHandle;
use super::stopped::{Stopped, internal};
use crate::connectors::Connector;
use crate::db::models::{IntegrationRow, SyncRunRow};
use crate::db::run_events::{EventDraft, EventKind};
use crate::model::run_stats::ChangeCounts;
use crate::model::{PropagationStatus, PushOp, RunPhase, RunTrigger};

/// Reconciles every push-mode resource of the integration. Failed operations do not fail the
/// run: they are recorded and retried.
pub async fn reconcile(
    engine: &Engine,
    handle: &RunHandle<'_>,
    integration: &IntegrationRow,
    connector: &dyn Connector,
) -> Result<(ChangeCounts, i64), Stopped> {
    let (run, stop) = (handle.run, handle.stop);
    handle.enter_phase(RunPhase::Push).await?;
    let (pending, steps) = {
        let mut conn = engine.pool.get().await.map_err(internal)?;
        // Read first: a mark made after this is never mistaken for one the plan covered.
        let pending: Vec<PendingMark> = diesel::sql_query(
            "SELECT resource_id, user_id, updated_at FROM propagations
             WHERE integration_id = $1 AND status = $2",
        )
        .bind::<SqlUuid, _>(integration.id)
        .bind::<Text, _>(PropagationStatus::Pending)
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
    let retry_all = run.trigger == RunTrigger::Manual;
    let mut counts = ChangeCounts::default();
    let mut failed = 0;
    for step in steps {
        if stop.is_cancelled() {
            return Err(Stopped::Cancelled);
        }
        let outcome = match step.op {
            PushOp::Keep => {
                counts.unchanged += 1;
                mark_in_sync(engine, &step).await
            }
            // A failed add or remove waits for its backoff, unless a person asked for a sync.
            PushOp::Add | PushOp::Remove if !step.due && !retry_all => continue,
            PushOp::Add => {
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
            PushOp::Remove => {
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
    handle
        .emit(
            EventDraft::new(EventKind::PhaseFinished)
                .phase(RunPhase::Push)
                .progress(counts.created + counts.deleted + counts.unchanged)
                .message(format!(
                    "{} added, {} removed, {} already as decided, {failed} failed",
                    counts.created, counts.deleted, counts.unchanged
                )),
        )
        .await?;
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
            let drift = step.last_status == Some(PropagationStatus::InSync);
            let pair_key = access_pair_key(&step.resource_external_id, account_external_id);
            let mut conn = engine.pool.get().await?;
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
            let drift = step.last_status != Some(PropagationStatus::Pending);
            let mut conn = engine.pool.get().await?;
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
