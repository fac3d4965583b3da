//! Reading runs.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::SyncRunRow;
use crate::db::schema::sync_runs;
use crate::model::RunState;

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<SyncRunRow>> {
    sync_runs::table
        .find(id)
        .select(SyncRunRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The run, locked until the transaction ends, so that its state cannot change meanwhile.
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

/// The integration's queued or running run (there is at most one).
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
) -> QueryResult<Option<SyncRunRow>> {
    sync_runs::table
        .filter(sync_runs::integration_id.eq(integration_id))
        .filter(sync_runs::state.eq_any(RunState::ACTIVE))
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
