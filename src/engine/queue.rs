//! The run queue in PostgreSQL: claiming with SKIP LOCKED, leases kept alive by heartbeats,
//! expired leases failed and retried, and scheduled runs enqueued. Every state change emits its
//! event in the same transaction.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Interval, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::hub::QUEUED_CHANNEL;
use crate::db::models::{NewSyncRun, SyncRunRow};
use crate::db::run_events::{self as events, EventDraft, EventKind};
use crate::db::sync_runs;

fn interval(duration: Duration) -> diesel::data_types::PgInterval {
    diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
    )
}

/// Tells idle workers on every replica that a run is waiting. Inside a transaction it is
/// delivered on commit.
pub async fn notify_queued(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("NOTIFY {QUEUED_CHANNEL}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the oldest queued run of a live integration, if any, for `worker`.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    worker: &str,
    lease: Duration,
) -> QueryResult<Option<SyncRunRow>> {
    conn.transaction(async |conn| {
        let claimed: Option<SyncRunRow> = diesel::sql_query(
            "UPDATE sync_runs SET state = 'running', started_at = now(), claimed_by = $1,
                 lease_expires_at = now() + $2
             WHERE id = (
                 SELECT r.id FROM sync_runs r
                 JOIN integrations i ON i.id = r.integration_id AND i.deleted_at IS NULL
                 WHERE r.state = 'queued'
                 ORDER BY r.id
                 FOR UPDATE OF r SKIP LOCKED
                 LIMIT 1)
             RETURNING *",
        )
        .bind::<Text, _>(worker)
        .bind::<Interval, _>(interval(lease))
        .get_result(conn)
        .await
        .optional()?;
        if let Some(run) = &claimed {
            events::emit(
                conn,
                run.id,
                EventDraft::new(EventKind::StateChanged)
                    .state("running")
                    .message(format!("claimed by {worker}")),
            )
            .await?;
        }
        Ok(claimed)
    })
    .await
}

/// Extends the lease; false when the run is no longer ours to run (cancelled, or failed after
/// our lease expired).
pub async fn heartbeat(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    worker: &str,
    lease: Duration,
) -> QueryResult<bool> {
    let updated = diesel::sql_query(
        "UPDATE sync_runs SET lease_expires_at = now() + $3
         WHERE id = $1 AND state = 'running' AND claimed_by = $2",
    )
    .bind::<SqlUuid, _>(run_id)
    .bind::<Text, _>(worker)
    .bind::<Interval, _>(interval(lease))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Marks our running run failed with `error`; false when it had already left our hands.
pub async fn fail(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    worker: &str,
    error: &str,
) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        let updated = diesel::sql_query(
            "UPDATE sync_runs SET state = 'failed', error = $3, finished_at = now(),
                 lease_expires_at = NULL
             WHERE id = $1 AND state = 'running' AND claimed_by = $2",
        )
        .bind::<SqlUuid, _>(run_id)
        .bind::<Text, _>(worker)
        .bind::<Text, _>(error)
        .execute(conn)
        .await?;
        if updated == 1 {
            events::emit(
                conn,
                run_id,
                EventDraft::new(EventKind::Finished)
                    .state("failed")
                    .message(error),
            )
            .await?;
        }
        Ok(updated == 1)
    })
    .await
}

/// Puts our running run back in the queue (this process is shutting down): another worker, on
/// any replica, starts it again from the beginning.
pub async fn requeue(conn: &mut AsyncPgConnection, run_id: Uuid, worker: &str) -> QueryResult<()> {
    conn.transaction(async |conn| {
        let updated = diesel::sql_query(
            "UPDATE sync_runs SET state = 'queued', started_at = NULL, claimed_by = NULL,
                 lease_expires_at = NULL, phase = NULL
             WHERE id = $1 AND state = 'running' AND claimed_by = $2",
        )
        .bind::<SqlUuid, _>(run_id)
        .bind::<Text, _>(worker)
        .execute(conn)
        .await?;
        if updated == 1 {
            events::emit(
                conn,
                run_id,
                EventDraft::new(EventKind::StateChanged)
                    .state("queued")
                    .message("the worker shut down; queued again"),
            )
            .await?;
            notify_queued(conn).await?;
        }
        Ok(())
    })
    .await
}

#[derive(QueryableByName)]
struct ExpiredRun {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    integration_id: Uuid,
}

/// Fails runs whose worker stopped heartbeating (its process died) and queues a new run for each
/// of their integrations. Returns how many expired.
pub async fn reap_expired_leases(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    conn.transaction(async |conn| {
        let expired: Vec<ExpiredRun> = diesel::sql_query(
            "UPDATE sync_runs SET state = 'failed', finished_at = now(),
                 error = 'the worker running it stopped (lease expired); a new run was queued'
             WHERE id IN (
                 SELECT id FROM sync_runs
                 WHERE state = 'running' AND lease_expires_at < now()
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, integration_id",
        )
        .load(conn)
        .await?;
        for run in &expired {
            tracing::warn!(run_id = %run.id, integration_id = %run.integration_id, "sync run lease expired");
            events::emit(
                conn,
                run.id,
                EventDraft::new(EventKind::Finished)
                    .state("failed")
                    .message("the worker running it stopped (lease expired)"),
            )
            .await?;
        }
        if !expired.is_empty() {
            let ids: Vec<Uuid> = expired.iter().map(|run| run.integration_id).collect();
            enqueue_for(conn, &ids, "scheduled", "system").await?;
        }
        Ok(expired.len())
    })
    .await
}

/// Queues a run for every live integration whose interval has passed since its last run began
/// (or since it was created) and that has none queued or running.
pub async fn enqueue_due(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    conn.transaction(async |conn| {
        #[derive(QueryableByName)]
        struct Due {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
        }
        let due: Vec<Due> = diesel::sql_query(
            "SELECT i.id FROM integrations i
             WHERE i.deleted_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM sync_runs r
                               WHERE r.integration_id = i.id AND r.state IN ('queued', 'running'))
               AND COALESCE((SELECT max(r.created_at) FROM sync_runs r WHERE r.integration_id = i.id),
                            i.created_at)
                   <= now() - make_interval(secs => i.sync_interval_seconds)",
        )
        .load(conn)
        .await?;
        let ids: Vec<Uuid> = due.into_iter().map(|due| due.id).collect();
        let scheduled = enqueue_for(conn, &ids, "scheduled", "system").await?;
        // Pushes waiting (new decisions) or due for a retry get a run of their own.
        let pushes: Vec<Due> = diesel::sql_query(
            "SELECT DISTINCT p.integration_id AS id FROM propagations p
             JOIN integrations i ON i.id = p.integration_id AND i.deleted_at IS NULL
             WHERE p.status <> 'in_sync' AND p.next_attempt_at <= now()
               AND NOT EXISTS (SELECT 1 FROM sync_runs r
                               WHERE r.integration_id = p.integration_id
                                 AND r.state IN ('queued', 'running'))",
        )
        .load(conn)
        .await?;
        let ids: Vec<Uuid> = pushes.into_iter().map(|due| due.id).collect();
        Ok(scheduled + enqueue_for(conn, &ids, "grant", "system").await?)
    })
    .await
}

/// Queues one run per integration in `ids` that has no active run; returns how many.
async fn enqueue_for(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    trigger: &str,
    requested_by: &str,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    #[derive(QueryableByName)]
    struct Queued {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let queued: Vec<Queued> = diesel::sql_query(
        "INSERT INTO sync_runs (id, integration_id, trigger, requested_by)
         SELECT uuid_generate_v7(), i.id, $2, $3
         FROM integrations i
         WHERE i.id = ANY($1::uuid[]) AND i.deleted_at IS NULL
         ON CONFLICT (integration_id) WHERE state IN ('queued', 'running') DO NOTHING
         RETURNING id",
    )
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
    .bind::<Text, _>(trigger)
    .bind::<Text, _>(requested_by)
    .load(conn)
    .await?;
    for run in &queued {
        events::emit(
            conn,
            run.id,
            EventDraft::new(EventKind::StateChanged)
                .state("queued")
                .message(format!("queued ({trigger})")),
        )
        .await?;
    }
    if !queued.is_empty() {
        notify_queued(conn).await?;
    }
    Ok(queued.len())
}

/// Queues a run (the caller made sure none is active) and wakes the workers.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    new: &NewSyncRun<'_>,
) -> QueryResult<SyncRunRow> {
    let run = sync_runs::insert(conn, new).await?;
    events::emit(
        conn,
        run.id,
        EventDraft::new(EventKind::StateChanged)
            .state("queued")
            .message(format!("queued ({}) by {}", run.trigger, run.requested_by)),
    )
    .await?;
    notify_queued(conn).await?;
    Ok(run)
}

/// Cancels a queued or running run and emits its FINISHED event; the worker running it (on any
/// replica) sees the event or its next heartbeat fail, and stops without applying anything.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    reason: &str,
) -> QueryResult<SyncRunRow> {
    let run = sync_runs::mark_cancelled(conn, run_id, reason).await?;
    emit_cancelled(conn, run_id, reason).await?;
    Ok(run)
}

/// Cancels the integration's active run, if any.
pub async fn cancel_active(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    reason: &str,
) -> QueryResult<Option<SyncRunRow>> {
    let cancelled = sync_runs::cancel_active(conn, integration_id, reason).await?;
    if let Some(run) = &cancelled {
        emit_cancelled(conn, run.id, reason).await?;
    }
    Ok(cancelled)
}

async fn emit_cancelled(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    reason: &str,
) -> QueryResult<()> {
    events::emit(
        conn,
        run_id,
        EventDraft::new(EventKind::Finished)
            .state("cancelled")
            .message(reason),
    )
    .await
}

/// Asks for the integration's push-mode resources to be reconciled soon. Queues a run now; when
/// one is already queued it will do; when one is running it may have pushed already, so the
/// pending propagations make the scheduler queue a follow-up as soon as it ends.
pub async fn request_push(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    trigger: &str,
    requested_by: &str,
) -> QueryResult<()> {
    enqueue_for(conn, &[integration_id], trigger, requested_by).await?;
    Ok(())
}
