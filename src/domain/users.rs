//! Reading Oblique users back, with the accounts linked to them.

use uuid::Uuid;

use crate::context::AppContext;
use crate::db::users;
use crate::error::{AppError, AppResult};

/// What a user query answers: the user, and each linked account with its integration's last pull.
pub use crate::db::users::{LinkedAccount, UserRow};

/// Up to `limit` users in creation order after `after`; a non-empty `prefix` keeps those whose
/// email or username starts with it, ignoring case.
pub async fn list(
    ctx: &AppContext,
    prefix: &str,
    after: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<UserRow>> {
    let mut conn = ctx.pool.get().await?;
    Ok(users::list_page(&mut conn, prefix, after, limit).await?)
}

/// The user with every account linked to it, soft-deleted ones too; NOT_FOUND when there is
/// none.
pub async fn get(ctx: &AppContext, id: Uuid) -> AppResult<(UserRow, Vec<LinkedAccount>)> {
    let mut conn = ctx.pool.get().await?;
    let row = users::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("user {id}")))?;
    let accounts = users::linked_accounts(&mut conn, id).await?;
    Ok((row, accounts))
}
