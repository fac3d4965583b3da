//! Reading access back: who has access to what, now or at a past instant, and the history of
//! the decisions that changed it. (Decisions themselves are made in `grants`.)

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::grants::GrantView;
use crate::context::AppContext;
use crate::db::{access, grants, resources, users};
use crate::error::{AppError, AppResult};

/// Whose access a query lists, and one member as it answers it.
pub use crate::db::access::{AccessOf, AccessRow};
/// What a history query returns: a grant or its revocation, and when.
pub use crate::db::grants::HistoryRow;

/// A page of history: its entries, and the grants they name by id.
#[derive(Debug)]
pub struct History {
    pub rows: Vec<HistoryRow>,
    pub grants: HashMap<Uuid, GrantView>,
}

/// Up to `limit` members (in key order after `after`) of a resource, or resources of a user:
/// current ones, or with `at` those of that instant (from history, so soft-deleted resources and
/// integrations still answer). NOT_FOUND for an unknown resource or user.
pub async fn list(
    ctx: &AppContext,
    of: AccessOf,
    at: Option<DateTime<Utc>>,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<AccessRow>> {
    let mut conn = ctx.pool.get().await?;
    ensure_exists(&mut conn, of).await?;
    let rows = match at {
        None => access::list_current_page(&mut conn, of, after, limit).await,
        Some(at) => access::list_at_page(&mut conn, of, at, after, limit).await,
    }?;
    Ok(rows)
}

/// Up to `limit` grants and revocations of a resource or a user, newest first, older than
/// `before`, with the grants they name. NOT_FOUND for an unknown resource or user.
pub async fn history(
    ctx: &AppContext,
    of: AccessOf,
    before: Option<&HistoryRow>,
    limit: i64,
) -> AppResult<History> {
    let mut conn = ctx.pool.get().await?;
    ensure_exists(&mut conn, of).await?;
    let rows = grants::history_page(&mut conn, of, before, limit).await?;
    let mut ids: Vec<_> = rows.iter().map(|row| row.grant_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let grants = grants::views(&mut conn, &ids)
        .await?
        .into_iter()
        .map(|view| (view.grant.id, view))
        .collect();
    Ok(History { rows, grants })
}

/// NOT_FOUND for an unknown resource or user; a soft-deleted resource exists.
async fn ensure_exists(conn: &mut AsyncPgConnection, of: AccessOf) -> AppResult<()> {
    let found = match of {
        AccessOf::Resource(id) => resources::find(conn, id).await?.is_some(),
        AccessOf::User(id) => users::find(conn, id).await?.is_some(),
    };
    if found {
        return Ok(());
    }
    Err(AppError::not_found(match of {
        AccessOf::Resource(id) => format!("resource {id}"),
        AccessOf::User(id) => format!("user {id}"),
    }))
}
