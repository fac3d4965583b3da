//! Queries on `sync_errors`: per-object problems of an integration that are still present.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::sync_errors;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sync_errors, check_for_backend(diesel::pg::Pg))]
pub struct SyncErrorRow {
    pub integration_id: Uuid,
    pub object: String,
    pub message: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub count: i64,
}

/// One page of the integration's errors ordered by `object`, starting after the object `after`
/// (the primary key `(integration_id, object)` serves both the filter and the order).
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    after: Option<String>,
    limit: i64,
) -> QueryResult<Vec<SyncErrorRow>> {
    let mut query = sync_errors::table
        .filter(sync_errors::integration_id.eq(integration_id))
        .select(SyncErrorRow::as_select())
        .order(sync_errors::object.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(sync_errors::object.gt(after));
    }
    query.load(conn).await
}
