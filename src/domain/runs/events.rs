//! A run's stored events, for the streams that replay them before following live ones.

use uuid::Uuid;

use super::SyncEvent;
use crate::context::AppContext;
use crate::db::run_events;

/// The run's stored events with a sequence number above `after`, in order. Any failure is the
/// caller's to retry: a stream reading back only logs it and tries again.
pub async fn events_after(
    ctx: &AppContext,
    run_id: Uuid,
    after: i64,
) -> anyhow::Result<Vec<SyncEvent>> {
    let mut conn = ctx.pool.get().await?;
    run_events::stored_after(&mut conn, run_id, after).await
}
