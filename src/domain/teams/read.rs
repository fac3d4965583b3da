//! Reading teams back.

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
