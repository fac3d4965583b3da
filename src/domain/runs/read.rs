//! Reading runs back: one, a page of them, and the errors an integration's runs left.

use uuid::Uuid;

use super::{SyncErrorRow, SyncRunRow};
use crate::context::AppContext;
use crate::db::{runs, sync_errors};
use crate::domain::integrations;
use crate::error::{AppError, AppResult};

/// The run; NOT_FOUND when there is none.
pub async fn get(ctx: &AppContext, id: Uuid) -> AppResult<SyncRunRow> {
    let mut conn = ctx.pool.get().await?;
    runs::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("sync run {id}")))
}

/// Up to `limit` runs (of one integration, or of all), newest first, older than `before`.
pub async fn list(
    ctx: &AppContext,
    integration_id: Option<Uuid>,
    before: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<SyncRunRow>> {
    let mut conn = ctx.pool.get().await?;
    Ok(runs::list_page(&mut conn, integration_id, before, limit).await?)
}

/// Up to `limit` of the integration's current sync errors in object order after `after`;
/// NOT_FOUND for an unknown integration (a deleted one still answers).
pub async fn errors(
    ctx: &AppContext,
    integration_id: Uuid,
    after: Option<String>,
    limit: i64,
) -> AppResult<Vec<SyncErrorRow>> {
    let mut conn = ctx.pool.get().await?;
    integrations::find_row(&mut conn, integration_id).await?;
    Ok(sync_errors::list_page(&mut conn, integration_id, after, limit).await?)
}
