//! Runs whose worker died: its lease passed without a heartbeat. Each is failed and retried by a
//! new run, which inherits the count of deaths; the third death gives the run up, so that a run
//! that kills its process (out of memory, say) does not become a crash loop.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::MAX_LEASE_EXPIRIES;
use super::enqueue::enqueue_retry;
use super::finish::{Ending, Finish, finish};
use crate::db::models::SyncRunRow;
use crate::db::schema::sync_runs;
use crate::model::RunState;

const LEASE_EXPIRED: &str = "the worker running it stopped (lease expired); a new run was queued";

/// Fails runs whose worker stopped heartbeating (its process died) and queues a new run for each
/// of their integrations, unless that was the [`MAX_LEASE_EXPIRIES`]th death. Returns how many
/// expired.
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
        let mut reaped = 0;
        for run in &expired {
            let deaths = run.lease_expiries.saturating_add(1);
            tracing::warn!(run_id = %run.id, integration_id = %run.integration_id, deaths, "sync run lease expired");
            diesel::update(sync_runs::table.find(run.id))
                .set(sync_runs::lease_expiries.eq(deaths))
                .execute(conn)
                .await?;
            let given_up = deaths >= MAX_LEASE_EXPIRIES;
            let error = if given_up {
                format!(
                    "its worker died {deaths} times: the worker running it stopped (lease \
                     expired) each time; not retried before its next scheduled run"
                )
            } else {
                LEASE_EXPIRED.into()
            };
            let ended = finish(
                conn,
                &Finish {
                    run_id: run.id,
                    holder: run.claimed_by.as_deref(),
                    ending: Ending::Failed { error },
                    ended_by: None,
                },
            )
            .await?;
            if ended.is_some() {
                reaped += 1;
                if !given_up {
                    enqueue_retry(conn, run, deaths).await?;
                }
            }
        }
        Ok(reaped)
    })
    .await
}
