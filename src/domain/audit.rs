//! Reading the audit log back. (Each change writes its own event, in its own transaction.)

use uuid::Uuid;

use crate::context::AppContext;
use crate::db::audit;
use crate::error::AppResult;

/// What an audit query may filter on.
pub use crate::db::audit::AuditFilter;
/// An audit event as a query answers it.
pub use crate::db::models::AuditEventRow;

/// Up to `limit` events matching `filter`, newest first, older than `before`.
pub async fn list(
    ctx: &AppContext,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<AuditEventRow>> {
    let mut conn = ctx.pool.get().await?;
    Ok(audit::list_page(&mut conn, filter, before, limit).await?)
}
