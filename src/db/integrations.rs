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

// The newest run is chosen by a subquery on `sync_runs` inside the join on `sync_runs`: diesel
// needs a second name for the table to tell the two apart.
diesel::alias!(sync_runs as newer_runs: NewerRuns);

/// One integration (deleted or not) with its counts and last run, in one statement:
///
/// ```sql
/// SELECT integrations.…,
///        (SELECT count(*) FROM resources WHERE integration_id = $1 AND deleted_at IS NULL),
///        (SELECT count(*) FROM accounts WHERE integration_id = $1 AND deleted_at IS NULL),
///        sync_runs.…
/// FROM integrations LEFT JOIN sync_runs ON sync_runs.id = (SELECT newer_runs.id
///     FROM sync_runs AS newer_runs WHERE integration_id = $1 ORDER BY id DESC LIMIT 1)
/// WHERE integrations.id = $1
/// ```
///
/// Each subquery names the id itself rather than `integrations.id`: uncorrelated, PostgreSQL
/// runs each once (an InitPlan) on its index, and the last run is then one primary-key lookup.
/// `GetIntegration` is the service's most frequent call (`oblique-bench --rpc`).
pub async fn find_view(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<IntegrationView>> {
    // A count's subquery always yields its one row, so the value is never NULL.
    let resource_count = resources::table
        .filter(resources::integration_id.eq(id))
        .filter(resources::deleted_at.is_null())
        .count()
        .single_value()
        .assume_not_null();
    let account_count = accounts::table
        .filter(accounts::integration_id.eq(id))
        .filter(accounts::deleted_at.is_null())
        .count()
        .single_value()
        .assume_not_null();
    let last_run_id = newer_runs
        .filter(newer_runs.field(sync_runs::integration_id).eq(id))
        .order(newer_runs.field(sync_runs::id).desc())
        .select(newer_runs.field(sync_runs::id))
        .single_value();
    let found = integrations::table
        .left_join(sync_runs::table.on(sync_runs::id.nullable().eq(last_run_id)))
        .filter(integrations::id.eq(id))
        .select((
            IntegrationRow::as_select(),
            resource_count,
            account_count,
            Option::<SyncRunRow>::as_select(),
        ))
        .first::<(IntegrationRow, i64, i64, Option<SyncRunRow>)>(conn)
        .await
        .optional()?;
    Ok(found.map(
        |(row, resource_count, account_count, last_sync_run)| IntegrationView {
            row,
            resource_count,
            account_count,
            last_sync_run,
        },
    ))
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
