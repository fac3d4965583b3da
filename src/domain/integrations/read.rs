//! Reading integrations back.

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
    let row = find_row(&mut conn, id).await?;
    view(&mut conn, row).await
}

/// The integration's row, deleted or not; NOT_FOUND when there is none.
async fn find_row(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<IntegrationRow> {
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
