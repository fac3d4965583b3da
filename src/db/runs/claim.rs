//! A worker's hold on a run: claiming the oldest queued one with SKIP LOCKED, keeping its lease
//! with heartbeats, recording its phase, and putting it back when the worker shuts down.

use std::time::Duration;

use diesel::data_types::PgInterval;
use diesel::prelude::*;
use diesel::sql_types::{Interval, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::enqueue::notify_queued;
use crate::db::models::SyncRunRow;
use crate::db::run_events::{self as events, EventDraft, EventKind};
use crate::db::schema::sync_runs;
use crate::model::{RunPhase, RunState};

fn interval(duration: Duration) -> PgInterval {
    PgInterval::from_microseconds(i64::try_from(duration.as_micros()).unwrap_or(i64::MAX))
}

/// Takes the oldest queued run of a live integration, if any, for `worker`.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    worker: &str,
    lease: Duration,
) -> QueryResult<Option<SyncRunRow>> {
    conn.transaction(async |conn| {
        // `state = 'queued'` literally, so that the planner uses the partial index of queued runs.
        let claimed: Option<SyncRunRow> = diesel::sql_query(
            "UPDATE sync_runs SET state = $3, started_at = now(), claimed_by = $1,
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
        .bind::<Text, _>(RunState::Running)
        .get_result(conn)
        .await
        .optional()?;
        if let Some(run) = &claimed {
            events::emit(
                conn,
                run.id,
                EventDraft::new(EventKind::StateChanged)
                    .state(RunState::Running)
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
        "UPDATE sync_runs SET lease_expires_at = now() + $4
         WHERE id = $1 AND state = $3 AND claimed_by = $2",
    )
    .bind::<SqlUuid, _>(run_id)
    .bind::<Text, _>(worker)
    .bind::<Text, _>(RunState::Running)
    .bind::<Interval, _>(interval(lease))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Records the phase a running run is in; a run cancelled meanwhile keeps the phase it had.
pub async fn set_phase(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    phase: RunPhase,
) -> QueryResult<()> {
    diesel::update(
        sync_runs::table
            .find(run_id)
            .filter(sync_runs::state.eq(RunState::Running)),
    )
    .set(sync_runs::phase.eq(phase))
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts our running run back in the queue (this process is shutting down): another worker, on
/// any replica, starts it again from the beginning.
pub async fn requeue(conn: &mut AsyncPgConnection, run_id: Uuid, worker: &str) -> QueryResult<()> {
    conn.transaction(async |conn| {
        let updated = diesel::update(
            sync_runs::table
                .find(run_id)
                .filter(sync_runs::state.eq(RunState::Running))
                .filter(sync_runs::claimed_by.eq(worker)),
        )
        .set((
            sync_runs::state.eq(RunState::Queued),
            sync_runs::started_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            sync_runs::claimed_by.eq(None::<String>),
            sync_runs::lease_expires_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            sync_runs::phase.eq(None::<RunPhase>),
        ))
        .execute(conn)
        .await?;
        if updated == 1 {
            events::emit(
                conn,
                run_id,
                EventDraft::new(EventKind::StateChanged)
                    .state(RunState::Queued)
                    .message("the worker shut down; queued again"),
            )
            .await?;
            notify_queued(conn).await?;
        }
        Ok(())
    })
    .await
}
