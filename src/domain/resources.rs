//! Reading an integration's resources back, with the integration's last successful pull (every
//! live resource was in it). Their sync mode changes in `sync_mode`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::context::AppContext;
use crate::db::resources;
use crate::domain::integrations;
use crate::error::{AppError, AppResult};

/// A resource as a query or a change answers it.
pub use crate::db::models::ResourceRow;

/// Up to `limit` of the integration's resources in creation order after `after`; NOT_FOUND for
/// an unknown integration (a deleted one still answers).
pub async fn list(
    ctx: &AppContext,
    integration_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
    include_deleted: bool,
) -> AppResult<(Vec<ResourceRow>, Option<DateTime<Utc>>)> {
    let mut conn = ctx.pool.get().await?;
    let integration = integrations::find_row(&mut conn, integration_id).await?;
    let rows =
        resources::list_page(&mut conn, integration_id, after, limit, include_deleted).await?;
    Ok((rows, integration.last_pulled_at))
}

/// The resource, deleted or not; NOT_FOUND when there is none.
pub async fn get(ctx: &AppContext, id: Uuid) -> AppResult<(ResourceRow, Option<DateTime<Utc>>)> {
    let mut conn = ctx.pool.get().await?;
    let row = resources::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("resource {id}")))?;
    let integration = integrations::find_row(&mut conn, row.integration_id).await?;
    Ok((row, integration.last_pulled_at))
}
