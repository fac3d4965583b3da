//! Queries on `sync_runs`.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{NewSyncRun, SyncRunRow};
use super::schema::sync_runs;

/// States in which a run holds its integration's single active slot.
pub const ACTIVE_STATES: [&str; 2] = ["queued", "running"];

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewSyncRun<'_>) -> QueryResult<SyncRunRow> {
    diesel::insert_into(sync_runs::table)
        .values(new)
        .returning(SyncRunRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<SyncRunRow>> {
    sync_runs::table
        .find(id)
        .select(SyncRunRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The newest run of each of `integration_ids`.
pub async fn latest_for(
    conn: &mut AsyncPgConnection,
    integration_ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, SyncRunRow>> {
    let rows: Vec<SyncRunRow> = sync_runs::table
        .filter(sync_runs::integration_id.eq_any(integration_ids))
        .distinct_on(sync_runs::integration_id)
        .order((sync_runs::integration_id, sync_runs::id.desc()))
        .select(SyncRunRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.integration_id, row))
        .collect())
}

/// Newest first, starting after (older than) `before`.
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    integration_id: Option<Uuid>,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<SyncRunRow>> {
    let mut query = sync_runs::table
        .select(SyncRunRow::as_select())
        .order(sync_runs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(integration_id) = integration_id {
        query = query.filter(sync_runs::integration_id.eq(integration_id));
    }
    if let Some(before) = before {
        query = query.filter(sync_runs::id.lt(before));
    }
    query.load(conn).await
}

/// Cancels the integration's queued or running run, if any, and returns it.
pub async fn cancel_active(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    reason: &str,
) -> QueryResult<Option<SyncRunRow>> {
    diesel::update(
        sync_runs::table
            .filter(sync_runs::integration_id.eq(integration_id))
            .filter(sync_runs::state.eq_any(ACTIVE_STATES)),
    )
    .set((
        sync_runs::state.eq("cancelled"),
        sync_runs::error.eq(reason),
        sync_runs::finished_at.eq(diesel::dsl::now),
    ))
    .returning(SyncRunRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// The integration's queued or running run.
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
) -> QueryResult<Option<SyncRunRow>> {
    sync_runs::table
        .filter(sync_runs::integration_id.eq(integration_id))
        .filter(sync_runs::state.eq_any(ACTIVE_STATES))
        .select(SyncRunRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<SyncRunRow>> {
    sync_runs::table
        .find(id)
        .for_update()
        .select(SyncRunRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn mark_cancelled(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: &str,
) -> QueryResult<SyncRunRow> {
    diesel::update(sync_runs::table.find(id))
        .set((
            sync_runs::state.eq("cancelled"),
            sync_runs::error.eq(reason),
            sync_runs::finished_at.eq(diesel::dsl::now),
        ))
        .returning(SyncRunRow::as_returning())
        .get_result(conn)
        .await
}

/// Finishes a run that is still ours as succeeded, with its stats and its FINISHED event
/// carrying `message`. False when it was cancelled meanwhile.
pub async fn finish_succeeded(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    worker: &str,
    stats: &crate::model::run_stats::RunStats,
    message: &str,
) -> QueryResult<bool> {
    use super::run_events::{self as events, EventDraft, EventKind};
    use diesel_async::AsyncConnection;
    let stats_json = serde_json::to_value(stats).unwrap_or_default();
    let stats = *stats;
    conn.transaction(async |conn| {
        let finished = diesel::update(
            sync_runs::table
                .find(id)
                .filter(sync_runs::state.eq("running"))
                .filter(sync_runs::claimed_by.eq(worker)),
        )
        .set((
            sync_runs::state.eq("succeeded"),
            sync_runs::stats.eq(stats_json),
            sync_runs::finished_at.eq(diesel::dsl::now),
            sync_runs::phase.eq(None::<String>),
            sync_runs::lease_expires_at.eq(None::<chrono::DateTime<chrono::Utc>>),
        ))
        .execute(conn)
        .await?;
        if finished == 1 {
            events::emit(
                conn,
                id,
                EventDraft::new(EventKind::Finished)
                    .state("succeeded")
                    .stats(stats)
                    .message(message),
            )
            .await?;
        }
        Ok(finished == 1)
    })
    .await
}

/// Records the phase a running run is in; a run cancelled meanwhile keeps the phase it had.
pub async fn set_phase(conn: &mut AsyncPgConnection, id: Uuid, phase: &str) -> QueryResult<()> {
    diesel::update(
        sync_runs::table
            .find(id)
            .filter(sync_runs::state.eq("running")),
    )
    .set(sync_runs::phase.eq(phase))
    .execute(conn)
    .await?;
    Ok(())
}
