//! Queries on `resources`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::ResourceRow;
use super::schema::resources;
use crate::model::SyncMode;

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ResourceRow>> {
    resources::table
        .find(id)
        .select(ResourceRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The integration's live resource listed under `name`, unless it is another team's.
pub async fn find_listed_for_team(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    name: &str,
    team_id: Uuid,
) -> QueryResult<Option<ResourceRow>> {
    resources::table
        .filter(resources::integration_id.eq(integration_id))
        .filter(resources::name.eq(name))
        .filter(resources::deleted_at.is_null())
        .filter(
            resources::team_id
                .is_null()
                .or(resources::team_id.eq(team_id)),
        )
        .order(resources::id)
        .select(ResourceRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// One page of an integration's resources in creation order, starting after `after`.
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
    include_deleted: bool,
) -> QueryResult<Vec<ResourceRow>> {
    let mut query = resources::table
        .filter(resources::integration_id.eq(integration_id))
        .select(ResourceRow::as_select())
        .order(resources::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(resources::id.gt(after));
    }
    if !include_deleted {
        query = query.filter(resources::deleted_at.is_null());
    }
    query.load(conn).await
}

pub async fn count_push_mode(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
) -> QueryResult<i64> {
    resources::table
        .filter(resources::integration_id.eq(integration_id))
        .filter(resources::deleted_at.is_null())
        .filter(resources::sync_mode.eq(SyncMode::Push))
        .count()
        .get_result(conn)
        .await
}

/// Soft deletes every live resource of the integration; returns how many.
pub async fn soft_delete_for_integration(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        resources::table
            .filter(resources::integration_id.eq(integration_id))
            .filter(resources::deleted_at.is_null()),
    )
    .set((resources::deleted_at.eq(at), resources::updated_at.eq(at)))
    .execute(conn)
    .await
}

/// Locks the row until the transaction ends.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<ResourceRow>> {
    resources::table
        .find(id)
        .for_update()
        .select(ResourceRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn set_sync_mode(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    mode: SyncMode,
    at: DateTime<Utc>,
) -> QueryResult<ResourceRow> {
    diesel::update(resources::table.find(id))
        .set((resources::sync_mode.eq(mode), resources::updated_at.eq(at)))
        .returning(ResourceRow::as_returning())
        .get_result(conn)
        .await
}
