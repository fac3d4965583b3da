//! Reading integrations back: one, a page of them, or whether one exists.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::IntegrationView;
use crate::context::AppContext;
use crate::db::integrations as store;
use crate::db::models::IntegrationRow;
use crate::error::{AppError, AppResult};

/// The integration, deleted or not, with its counts and last run.
pub async fn get(ctx: &AppContext, id: Uuid) -> AppResult<IntegrationView> {
    let mut conn = ctx.pool.get().await?;
    store::find_view(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("integration {id}")))
}

/// Up to `limit` integrations in creation order after `after`, each with its counts and last
/// run.
pub async fn list(
    ctx: &AppContext,
    after: Option<Uuid>,
    limit: i64,
    include_deleted: bool,
) -> AppResult<Vec<IntegrationView>> {
    let mut conn = ctx.pool.get().await?;
    let rows = store::list_page(&mut conn, after, limit, include_deleted).await?;
    Ok(store::with_details(&mut conn, rows).await?)
}

/// NOT_FOUND unless the integration exists (deleted or not).
pub async fn ensure_exists(ctx: &AppContext, id: Uuid) -> AppResult<()> {
    let mut conn = ctx.pool.get().await?;
    find_row(&mut conn, id).await.map(drop)
}

/// The integration's row, deleted or not; NOT_FOUND when there is none.
pub(crate) async fn find_row(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<IntegrationRow> {
    store::find(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("integration {id}")))
}

pub(super) async fn view(
    conn: &mut AsyncPgConnection,
    row: IntegrationRow,
) -> AppResult<IntegrationView> {
    let mut views = store::with_details(conn, vec![row]).await?;
    views
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("integration view vanished")))
}
