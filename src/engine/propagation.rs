//! What pushing did, per (push-mode resource, user): in sync, failed with the next retry, or
//! settled; the resource's summary status; drift corrections in the audit log.

use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::EngineConfig;
use super::push_plan::Step;
use crate::db::Pool;
use crate::db::models::SyncRunRow;
use crate::model::{AuditAction, PropagationStatus, PushOp};

#[derive(Debug, QueryableByName)]
pub(super) struct PendingMark {
    #[diesel(sql_type = SqlUuid)]
    pub(super) resource_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(super) user_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub(super) version: i64,
}

/// The version of a propagation row as a push last saw it (`None`: there was no row). A push
/// changes a row only while it still has that version; see migration 000012.
pub(super) type Seen = Option<i64>;

/// What a compare-and-set write came to: `Some(seen)`, the row's version now (`None` once
/// deleted); `None` when the row had changed since it was read, and was left as it is.
pub(super) type Written = Option<Seen>;

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// After the operations: pending marks the plan had nothing to do for (a revocation of a member
/// the remote did not have, say) are done with; each push-mode resource shows the worst state of
/// its members' pushes. Marks made or renewed while pushing are left for the next run, which
/// the scheduler queues as soon as this one ends (they are pending and due).
pub(super) async fn settle(
    pool: &Pool,
    integration_id: Uuid,
    pending: &[PendingMark],
) -> crate::error::AppResult<()> {
    let mut conn = pool.get().await?;
    use diesel::sql_types::Array;
    diesel::sql_query(
        "DELETE FROM propagations p
         USING unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS seen(resource_id, user_id, version)
         WHERE p.resource_id = seen.resource_id AND p.user_id = seen.user_id
           AND p.version = seen.version AND p.status = 'pending'",
    )
    .bind::<Array<SqlUuid>, _>(pending.iter().map(|m| m.resource_id).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(pending.iter().map(|m| m.user_id).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(pending.iter().map(|m| m.version).collect::<Vec<_>>())
    .execute(&mut conn)
    .await?;
    Ok(summarise_resources(&mut conn, integration_id).await?)
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

/// Records the user's membership as in sync, if its row is still the one `seen`.
pub(super) async fn set_in_sync(
    conn: &mut AsyncPgConnection,
    step: &Step,
    seen: Seen,
) -> diesel::QueryResult<Written> {
    let Some(user_id) = step.user_id else {
        return Ok(Some(seen));
    };
    // $4 NULL: the plan saw no row, so one is made unless someone made one since; otherwise the
    // row is changed only while it has the version the plan saw.
    let written: Vec<Version> = diesel::sql_query(
        "WITH updated AS (
             UPDATE propagations SET status = $3, error = NULL, attempts = 0, updated_at = now()
             WHERE resource_id = $1 AND user_id = $2 AND version = $4
             RETURNING version
         ), inserted AS (
             INSERT INTO propagations (resource_id, user_id, integration_id, status)
             SELECT id, $2, integration_id, $3 FROM resources WHERE id = $1 AND $4 IS NULL
             ON CONFLICT (resource_id, user_id) DO NOTHING
             RETURNING version
         )
         SELECT version FROM updated UNION ALL SELECT version FROM inserted",
    )
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<Text, _>(PropagationStatus::InSync)
    .bind::<Nullable<BigInt>, _>(seen)
    .load(conn)
    .await?;
    Ok(written.into_iter().next().map(|row| Some(row.version)))
}

/// Forgets the user's membership once it is gone from the remote, if its row is still the one
/// `seen` (a grant made while removing stays pending).
pub(super) async fn forget_removed(
    conn: &mut AsyncPgConnection,
    step: &Step,
    seen: Seen,
) -> diesel::QueryResult<Written> {
    let (Some(user_id), Some(version)) = (step.user_id, seen) else {
        return Ok(Some(seen));
    };
    let deleted = diesel::sql_query(
        "DELETE FROM propagations WHERE resource_id = $1 AND user_id = $2 AND version = $3",
    )
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<BigInt, _>(version)
    .execute(conn)
    .await?;
    Ok((deleted > 0).then_some(None))
}

/// The longest a failed push waits for its next attempt, whatever `push_retry_max` says: a
/// revoked user must not keep access for hours because the remote was flaky once.
pub const PUSH_RETRY_CAP: Duration = Duration::from_secs(3600);

/// How long a push that failed for the `attempts`-th time waits before the next attempt: the
/// delay doubles with each attempt, up to the engine's cap (never above [`PUSH_RETRY_CAP`]).
/// `None` (wait for a person or a new decision) only for an add that used up its
/// `push_max_attempts`: a removal is retried for ever, since giving up on it leaves a revoked
/// user with access.
pub fn retry_delay(config: &EngineConfig, op: PushOp, attempts: i32) -> Option<Duration> {
    if op != PushOp::Remove && attempts >= config.push_max_attempts {
        return None;
    }
    let factor = 2u32.saturating_pow(u32::try_from(attempts - 1).unwrap_or(0).min(20));
    Some(
        config
            .push_retry_base
            .saturating_mul(factor)
            .min(retry_cap(config)),
    )
}

fn retry_cap(config: &EngineConfig) -> Duration {
    config.push_retry_max.min(PUSH_RETRY_CAP)
}

/// Records a failed push and when to try again (see [`retry_delay`]), if its row is still the
/// one `seen`: a new decision made meanwhile is due now, not after a backoff.
pub(super) async fn record_failure(
    pool: &Pool,
    config: &EngineConfig,
    step: &Step,
    seen: Seen,
    reason: &str,
) -> anyhow::Result<Written> {
    let Some(user_id) = step.user_id else {
        return Ok(Some(seen));
    };
    let attempts = step.attempts.saturating_add(1);
    let delay = retry_delay(config, step.op, attempts);
    tracing::warn!(resource = %step.resource_name, %user_id, attempts, %reason, "push failed");
    let mut conn = pool.get().await?;
    let written: Vec<Version> = diesel::sql_query(
        "WITH next AS (
             SELECT CASE WHEN $5 IS NULL THEN 'infinity'::timestamptz
                         ELSE now() + make_interval(secs => $5::float8) END AS attempt_at
         ), updated AS (
             UPDATE propagations SET status = $6, error = $3, attempts = $4,
                                     next_attempt_at = (SELECT attempt_at FROM next),
                                     updated_at = now()
             WHERE resource_id = $1 AND user_id = $2 AND version = $7
             RETURNING version
         ), inserted AS (
             INSERT INTO propagations (resource_id, user_id, integration_id, status, error,
                                       attempts, next_attempt_at)
             SELECT id, $2, integration_id, $6, $3, $4, (SELECT attempt_at FROM next)
             FROM resources WHERE id = $1 AND $7 IS NULL
             ON CONFLICT (resource_id, user_id) DO NOTHING
             RETURNING version
         )
         SELECT version FROM updated UNION ALL SELECT version FROM inserted",
    )
    .bind::<SqlUuid, _>(step.resource_id)
    .bind::<SqlUuid, _>(user_id)
    .bind::<Text, _>(reason)
    .bind::<Integer, _>(attempts)
    .bind::<Nullable<BigInt>, _>(delay.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
    .bind::<Text, _>(PropagationStatus::Error)
    .bind::<Nullable<BigInt>, _>(seen)
    .load(&mut conn)
    .await?;
    Ok(written.into_iter().next().map(|row| Some(row.version)))
}

/// How a push's remote change is audited: as decided (`push.add`, `push.remove`), or, when it
/// puts back what someone changed by hand, as a drift correction. Drafted before the remote is
/// called, written in the transaction that records the change (or by the run that resolves its
/// intent after a crash).
pub(super) fn push_audit(run: &SyncRunRow, step: &Step) -> (AuditAction, serde_json::Value) {
    let mut details = json!({
        "run_id": run.id,
        "resource": step.resource_name,
        "resource_external_id": step.resource_external_id,
        "account": step.username,
        "account_external_id": step.account_external_id,
        "account_id": step.account_id,
        "user_id": step.user_id,
    });
    let drift = match step.op {
        // It was pushed before and is missing now: someone removed it by hand.
        PushOp::Add if step.last_status == Some(PropagationStatus::InSync) => {
            Some(("absent", "member"))
        }
        // A pending propagation is a decision being carried out (a revocation, a team member
        // leaving); anything else is a member nobody decided on.
        PushOp::Remove if step.last_status != Some(PropagationStatus::Pending) => {
            Some(("member", "absent"))
        }
        _ => None,
    };
    let action = match (drift, step.op) {
        (Some((before, after)), _) => {
            details["before"] = before.into();
            details["after"] = after.into();
            AuditAction::AccessDriftCorrected
        }
        (None, PushOp::Remove) => AuditAction::PushRemove,
        (None, _) => AuditAction::PushAdd,
    };
    (action, details)
}

/// When the remote cannot be reached at all, the pushes waiting for it count a failed attempt
/// each, so that callers see ERROR with attempts rather than PENDING forever.
pub async fn record_unreachable(
    pool: &Pool,
    config: &EngineConfig,
    integration_id: Uuid,
    reason: &str,
) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    let base = i64::try_from(config.push_retry_base.as_secs())
        .unwrap_or(1)
        .max(1);
    let cap = i64::try_from(retry_cap(config).as_secs()).unwrap_or(i64::MAX);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EngineConfig {
        EngineConfig {
            push_retry_base: Duration::from_secs(2),
            push_retry_max: Duration::from_secs(300),
            push_max_attempts: 10,
            ..EngineConfig::default()
        }
    }

    #[test]
    fn the_delay_doubles_up_to_the_configured_cap() {
        let delays: Vec<_> = (1..=9)
            .map(|n| retry_delay(&config(), PushOp::Add, n).unwrap().as_secs())
            .collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300]);
    }

    #[test]
    fn an_add_waits_for_a_person_after_its_last_attempt() {
        assert_eq!(retry_delay(&config(), PushOp::Add, 10), None);
        assert_eq!(retry_delay(&config(), PushOp::Add, 11), None);
    }

    #[test]
    fn a_removal_is_retried_for_ever_at_the_cap() {
        for attempts in [10, 11, 1_000, i32::MAX] {
            assert_eq!(
                retry_delay(&config(), PushOp::Remove, attempts),
                Some(Duration::from_secs(300))
            );
        }
    }

    #[test]
    fn no_setting_makes_a_retry_wait_more_than_an_hour() {
        let config = EngineConfig {
            push_retry_max: Duration::from_secs(86_400),
            push_max_attempts: 100,
            ..config()
        };
        assert_eq!(
            retry_delay(&config, PushOp::Remove, 1_000),
            Some(PUSH_RETRY_CAP)
        );
        assert_eq!(retry_delay(&config, PushOp::Add, 50), Some(PUSH_RETRY_CAP));
    }
}
