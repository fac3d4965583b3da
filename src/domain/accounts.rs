//! Reading an integration's accounts back, with the integration's last successful pull (every
//! live account was in it).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::context::AppContext;
use crate::db::accounts;
use crate::domain::integrations;
use crate::error::AppResult;

/// An account as a query answers it: the row with its attributes.
pub use crate::db::accounts::AccountWithAttributes;

/// Up to `limit` of the integration's accounts in creation order after `after`, with their
/// attributes; NOT_FOUND for an unknown integration (a deleted one still answers).
pub async fn list(
    ctx: &AppContext,
    integration_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
    include_deleted: bool,
) -> AppResult<(Vec<AccountWithAttributes>, Option<DateTime<Utc>>)> {
    let mut conn = ctx.pool.get().await?;
    let integration = integrations::find_row(&mut conn, integration_id).await?;
    let rows =
        accounts::list_page(&mut conn, integration_id, after, limit, include_deleted).await?;
    Ok((rows, integration.last_pulled_at))
}
