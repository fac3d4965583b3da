//! Reading teams back: one, or a page of them.

use uuid::Uuid;

use super::{TeamDetails, details};
use crate::context::AppContext;
use crate::db::teams as store;
use crate::error::{AppError, AppResult};

/// The team with its current members and live resources.
pub async fn get(ctx: &AppContext, id: Uuid) -> AppResult<TeamDetails> {
    let mut conn = ctx.pool.get().await?;
    let row = store::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("team {id}")))?;
    details(&mut conn, row).await
}

/// Up to `limit` teams in creation order after `after`, each with its members and resources.
pub async fn list(
    ctx: &AppContext,
    after: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<TeamDetails>> {
    let mut conn = ctx.pool.get().await?;
    let rows = store::list_page(&mut conn, after, limit).await?;
    Ok(store::with_details(&mut conn, rows).await?)
}
