//! Queries on `integrations`, with the counts and last run that callers see with each.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{IntegrationChanges, IntegrationRow, NewIntegration, SyncRunRow};
use super::runs;
use super::schema::{accounts, integrations, resources, sync_runs};

/// An integration with what is derived from its other rows.
#[derive(Debug, Clone)]
pub struct IntegrationView {
    pub row: IntegrationRow,
    pub resource_count: i64,
    pub account_count: i64,
    pub last_sync_run: Option<SyncRunRow>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewIntegration,
) -> QueryResult<IntegrationRow> {
    diesel::insert_into(integrations::table)
        .values(new)
        .returning(IntegrationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<IntegrationRow>> {
    integrations::table
        .find(id)
        .select(IntegrationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The secret the integration's access pair keys are made with (see `engine::access_key`).
pub async fn access_key_secret(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<u8>> {
    integrations::table
        .find(id)
        .select(integrations::access_key_secret)
        .first(conn)
        .await
}

/// Locks the row until the transaction ends, so concurrent updates and deletes queue up.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<IntegrationRow>> {
    integrations::table
        .find(id)
        .for_update()
        .select(IntegrationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the row as a change of its fields does (FOR NO KEY UPDATE): it waits for other
/// changes and deletes, but not for the grants and revocations that hold the row FOR KEY SHARE
/// (see `db::grants::hold_integration`) only to keep it from being deleted under them.
pub async fn find_for_change(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<IntegrationRow>> {
    integrations::table
        .find(id)
        .for_no_key_update()
        .select(IntegrationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_request_id(
    conn: &mut AsyncPgConnection,
    request_id: &str,
) -> QueryResult<Option<IntegrationRow>> {
    integrations::table
        .filter(integrations::create_request_id.eq(request_id))
        .select(IntegrationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// One page in creation order, starting after `after`.
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
    include_deleted: bool,
) -> QueryResult<Vec<IntegrationRow>> {
    let mut query = integrations::table
        .select(IntegrationRow::as_select())
        .order(integrations::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(integrations::id.gt(after));
    }
    if !include_deleted {
        query = query.filter(integrations::deleted_at.is_null());
    }
    query.load(conn).await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &IntegrationChanges,
) -> QueryResult<IntegrationRow> {
    diesel::update(integrations::table.find(id))
        .set(changes)
        .returning(IntegrationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn mark_deleted(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<IntegrationRow> {
    diesel::update(integrations::table.find(id))
        .set((
            integrations::deleted_at.eq(at),
            integrations::updated_at.eq(at),
        ))
        .returning(IntegrationRow::as_returning())
        .get_result(conn)
        .await
}

/// One integration (deleted or not) with its counts and last run: four statements sent
/// together on the connection (pipelined), one round trip, each by the integration's id.
/// `GetIntegration` is the service's most frequent call (`oblique-bench --rpc`).
pub async fn find_view(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<IntegrationView>> {
    // A shared connection takes queries concurrently (diesel-async's pipelining).
    let shared: &AsyncPgConnection = conn;
    let (mut c1, mut c2, mut c3, mut c4) = (shared, shared, shared, shared);
    let row = integrations::table
        .find(id)
        .select(IntegrationRow::as_select())
        .first(&mut c1);
    let resource_count = resources::table
        .filter(resources::integration_id.eq(id))
        .filter(resources::deleted_at.is_null())
        .count()
        .get_result(&mut c2);
    let account_count = accounts::table
        .filter(accounts::integration_id.eq(id))
        .filter(accounts::deleted_at.is_null())
        .count()
        .get_result(&mut c3);
    let last_sync_run = sync_runs::table
        .filter(sync_runs::integration_id.eq(id))
        .order(sync_runs::id.desc())
        .select(SyncRunRow::as_select())
        .first(&mut c4);
    let (row, resource_count, account_count, last_sync_run) =
        futures::join!(row, resource_count, account_count, last_sync_run);
    let Some(row) = row.optional()? else {
        return Ok(None);
    };
    Ok(Some(IntegrationView {
        row,
        resource_count: resource_count?,
        account_count: account_count?,
        last_sync_run: last_sync_run.optional()?,
    }))
}

/// Adds counts and last runs to `rows` with three set-based queries, whatever the page size.
pub async fn with_details(
    conn: &mut AsyncPgConnection,
    rows: Vec<IntegrationRow>,
) -> QueryResult<Vec<IntegrationView>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let resource_counts: HashMap<Uuid, i64> = resources::table
        .filter(resources::integration_id.eq_any(&ids))
        .filter(resources::deleted_at.is_null())
        .group_by(resources::integration_id)
        .select((resources::integration_id, diesel::dsl::count_star()))
        .load::<(Uuid, i64)>(conn)
        .await?
        .into_iter()
        .collect();
    let account_counts: HashMap<Uuid, i64> = accounts::table
        .filter(accounts::integration_id.eq_any(&ids))
        .filter(accounts::deleted_at.is_null())
        .group_by(accounts::integration_id)
        .select((accounts::integration_id, diesel::dsl::count_star()))
        .load::<(Uuid, i64)>(conn)
        .await?
        .into_iter()
        .collect();
    let mut last_runs = runs::latest_for(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| IntegrationView {
            resource_count: resource_counts.get(&row.id).copied().unwrap_or(0),
            account_count: account_counts.get(&row.id).copied().unwrap_or(0),
            last_sync_run: last_runs.remove(&row.id),
            row,
        })
        .collect())
}
