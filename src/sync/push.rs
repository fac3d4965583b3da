//! Push: for every push-mode resource, make the remote members what Oblique decided (grants and
//! team members), through the connector, one idempotent operation at a time. Each outcome is
//! recorded per (resource, user) in `propagations`; failures are retried with capped
//! exponential backoff. Removing a member nobody decided on, or putting back one that was
//! pushed before, corrects drift and is audited.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Engine;
use super::events::{EventDraft, EventKind, Phase};
use super::runner::{Stopped, internal};
use super::stats::ChangeCounts;
use crate::connectors::Connector;
use crate::db::models::{IntegrationRow, SyncRunRow};

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
                ORDER BY a.id LIMIT 1) AS account_id
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
           a.external_id AS account_external_id, a.username,
           pr.status AS last_status, COALESCE(pr.attempts, 0) AS attempts,
           COALESCE(pr.next_attempt_at <= now(), true) AS due
    FROM plan
    JOIN push_resources r ON r.id = plan.resource_id
    LEFT JOIN accounts a ON a.id = plan.account_id
    LEFT JOIN propagations pr ON pr.resource_id = plan.resource_id AND pr.user_id = plan.user_id
    ORDER BY plan.resource_id, plan.op, a.username";

#[derive(Debug, QueryableByName)]
struct Step {
    #[diesel(sql_type = Text)]
    op: String,
    #[diesel(sql_type = SqlUuid)]
    resource_id: Uuid,
    #[diesel(sql_type = Text)]
    resource_external_id: String,
    #[diesel(sql_type = Text)]
    resource_name: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    account_external_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    username: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    last_status: Option<String>,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Bool)]
    due: bool,
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
    match connector
        .add_member(&step.resource_external_id, account_external_id)
        .await
    {
        Ok(()) => {
            counts.created += 1;
            // It was pushed before and is missing now: someone removed it by hand.
            let drift = step.last_status.as_deref() == Some("in_sync");
            let mut conn = engine.ctx.pool.get().await?;
            conn.transaction::<_, anyhow::Error, _>(async |conn| {
                diesel::sql_query(
                    "INSERT INTO pulled_access (integration_id, resource_id, account_id)
                     SELECT $1, $2, $3
                     WHERE NOT EXISTS (SELECT 1 FROM pulled_access
                                       WHERE resource_id = $2 AND account_id = $3 AND removed_at IS NULL)",
                )
                .bind::<SqlUuid, _>(integration.id)
                .bind::<SqlUuid, _>(step.resource_id)
                .bind::<SqlUuid, _>(account_id)
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

#[derive(Debug, QueryableByName)]
struct PendingMark {
    #[diesel(sql_type = SqlUuid)]
    resource_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// After the operations: pending marks the plan had nothing to do for (a revocation of a member
/// the remote did not have, say) are done with; each push-mode resource shows the worst state of
/// its members' pushes. Marks made or renewed while pushing are left for the next run.
async fn settle(
    engine: &Engine,
    integration_id: Uuid,
    pending: &[PendingMark],
) -> diesel::QueryResult<()> {
    let mut conn = engine
        .ctx
        .pool
        .get()
        .await
        .map_err(|error| diesel::result::Error::QueryBuilderError(error.into()))?;
    use diesel::sql_types::{Array, Timestamptz};
    diesel::sql_query(
        "DELETE FROM propagations p
         USING unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS seen(resource_id, user_id, updated_at)
         WHERE p.resource_id = seen.resource_id AND p.user_id = seen.user_id
           AND p.updated_at = seen.updated_at AND p.status = 'pending'",
    )
    .bind::<Array<SqlUuid>, _>(pending.iter().map(|m| m.resource_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(pending.iter().map(|m| m.user_id).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(pending.iter().map(|m| m.updated_at).collect::<Vec<_>>())
    .execute(&mut conn)
    .await?;
    summarise_resources(&mut conn, integration_id).await
}

/// Each push-mode resource shows the worst state of its members' pushes (written only when it
/// changes).
async fn summarise_resources(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "WITH summary AS (
             SELECT r.id,
                    CASE WHEN bool_or(p.status = 'error') THEN 'error'
                         WHEN bool_or(p.status = 'pending') THEN 'pending'
                         ELSE 'in_sync' END AS status,
                    min(p.error) FILTER (WHERE p.status = 'error') AS error
             FROM resources r LEFT JOIN propagations p ON p.resource_id = r.id
             WHERE r.integration_id = $1 AND r.sync_mode = 'push' AND r.deleted_at IS NULL
             GROUP BY r.id
         )
         UPDATE resources r SET propagation_status = s.status, propagation_error = s.error,
                                updated_at = now()
         FROM summary s
         WHERE r.id = s.id
           AND (r.propagation_status, r.propagation_error) IS DISTINCT FROM (s.status, s.error)",
    )
    .bind::<SqlUuid, _>(integration_id)
    .execute(conn)
    .await?;
    Ok(())
}

async fn mark_in_sync(engine: &Engine, step: &Step) -> anyhow::Result<()> {
    if step.last_status.as_deref() == Some("in_sync") {
        return Ok(());
    }
    let mut conn = engine.ctx.pool.get().await?;
    set_in_sync(&mut conn, step).await?;
    Ok(())
}

async fn set_in_sync(conn: &mut AsyncPgConnection, step: &Step) -> diesel::QueryResult<()> {
    let Some(user_id) = step.user_id else {
        return Ok(());
    };
    diesel::sql_query(
        "INSERT INTO propagations (resource_id, user_id, integration_id, status)
         SELECT id, $2, integration_id, 'in_sync' FROM resources WHERE id = $1
         ON CONFLICT (resource_id, user_id) DO UPDATE
             SET status = 'in_sync', error = NULL, attempts = 0, updated_at = now()",
    )
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<SqlUuid, _>(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed push and when to try again: the delay doubles with each attempt, up to the
/// engine's cap; after the last allowed attempt it waits for a person (or a new decision).
async fn record_failure(engine: &Engine, step: &Step, reason: &str) -> anyhow::Result<()> {
    let Some(user_id) = step.user_id else {
        return Ok(());
    };
    let attempts = step.attempts + 1;
    let config = &engine.config;
    let delay = if attempts >= config.push_max_attempts {
        None
    } else {
        let factor = 2u32.saturating_pow(u32::try_from(attempts - 1).unwrap_or(0).min(20));
        Some(
            config
                .push_retry_base
                .saturating_mul(factor)
                .min(config.push_retry_max),
        )
    };
    tracing::warn!(resource = %step.resource_name, %user_id, attempts, %reason, "push failed");
    let mut conn = engine.ctx.pool.get().await?;
    diesel::sql_query(
        "INSERT INTO propagations (resource_id, user_id, integration_id, status, error, attempts,
                                   next_attempt_at)
         SELECT id, $2, integration_id, 'error', $3, $4,
                CASE WHEN $5 IS NULL THEN 'infinity'::timestamptz
                     ELSE now() + make_interval(secs => $5::float8) END
         FROM resources WHERE id = $1
         ON CONFLICT (resource_id, user_id) DO UPDATE
             SET status = 'error', error = excluded.error, attempts = excluded.attempts,
                 next_attempt_at = excluded.next_attempt_at, updated_at = now()",
    )
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<Text, _>(reason)
    .bind::<Integer, _>(attempts)
    .bind::<Nullable<BigInt>, _>(delay.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
    .execute(&mut conn)
    .await?;
    Ok(())
}

async fn audit_drift(
    conn: &mut AsyncPgConnection,
    run: &SyncRunRow,
    integration: &IntegrationRow,
    step: &Step,
    before: &str,
    after: &str,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id, resource_id, details)
         VALUES (uuid_generate_v7(), 'system', 'system', 'access.drift_corrected', $1, $2, $3)",
    )
    .bind::<SqlUuid, _>(integration.id)
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<diesel::sql_types::Jsonb, _>(json!({
        "run_id": run.id,
        "resource": step.resource_name,
        "account": step.username,
        "account_id": step.account_id,
        "user_id": step.user_id,
        "before": before,
        "after": after,
    }))
    .execute(conn)
    .await?;
    Ok(())
}

/// When the remote cannot be reached at all, the pushes waiting for it count a failed attempt
/// each, so that callers see ERROR with attempts rather than PENDING forever.
pub async fn record_unreachable(
    engine: &Engine,
    integration_id: Uuid,
    reason: &str,
) -> anyhow::Result<()> {
    let mut conn = engine.ctx.pool.get().await?;
    let base = i64::try_from(engine.config.push_retry_base.as_secs())
        .unwrap_or(1)
        .max(1);
    let cap = i64::try_from(engine.config.push_retry_max.as_secs()).unwrap_or(i64::MAX);
    diesel::sql_query(
        "UPDATE propagations
         SET status = 'error', error = $2, attempts = attempts + 1, updated_at = now(),
             next_attempt_at = now() + make_interval(secs => least($4, $3 * power(2, least(attempts, 20)))::float8)
         WHERE integration_id = $1 AND status <> 'in_sync' AND next_attempt_at <= now()",
    )
    .bind::<SqlUuid, _>(integration_id)
    .bind::<Text, _>(reason)
    .bind::<BigInt, _>(base)
    .bind::<BigInt, _>(cap)
    .execute(&mut conn)
    .await?;
    summarise_resources(&mut conn, integration_id).await?;
    Ok(())
}
