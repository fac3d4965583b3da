//! Runs whose worker died: its lease passed without a heartbeat.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::enqueue::enqueue_retries;
use super::finish::{Ending, Finish, finish};
use crate::db::models::SyncRunRow;
use crate::db::schema::sync_runs;
use crate::model::RunState;

const LEASE_EXPIRED: &str = "the worker running it stopped (lease expired); a new run was queued";

/// Fails runs whose worker stopped heartbeating (its process died) and queues a new run for each
/// of their integrations. Returns how many expired.
pub async fn reap_expired_leases(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    conn.transaction(async |conn| {
        // Locked, skipping any another replica's reaper holds, so each is reaped once.
        let expired: Vec<SyncRunRow> = sync_runs::table
            .filter(sync_runs::state.eq(RunState::Running))
            .filter(sync_runs::lease_expires_at.lt(diesel::dsl::now))
            .for_update()
            .skip_locked()
            .select(SyncRunRow::as_select())
            .load(conn)
            .await?;
        let mut retried: Vec<Uuid> = Vec::new();
        for run in &expired {
            tracing::warn!(run_id = %run.id, integration_id = %run.integration_id, "sync run lease expired");
            let ended = finish(
                conn,
                &Finish {
                    run_id: run.id,
                    holder: run.claimed_by.as_deref(),
                    ending: Ending::Failed {
                        error: LEASE_EXPIRED.into(),
                    },
                    ended_by: None,
                },
            )
            .await?;
            if ended.is_some() {
                retried.push(run.integration_id);
            }
        }
        enqueue_retries(conn, &retried).await?;
        Ok(retried.len())
    })
    .await
}
