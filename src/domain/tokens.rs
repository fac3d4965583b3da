//! Whether a token still stands for someone: the console's sessions ask on each request, so that
//! revoking a token ends the sessions signed in with it (as it ends its gRPC calls).

use uuid::Uuid;

use crate::context::AppContext;
use crate::db::tokens;
use crate::error::AppResult;
use crate::model::{Principal, Role};

/// The principal of the token with row id `token_id` while it is not revoked; `None` after.
pub async fn active_principal(ctx: &AppContext, token_id: Uuid) -> AppResult<Option<Principal>> {
    let mut conn = ctx.pool.get().await?;
    let Some(row) = tokens::find_active(&mut conn, token_id).await? else {
        return Ok(None);
    };
    Ok(Role::parse(&row.role).map(|role| Principal {
        name: row.name,
        role,
    }))
}
