//! The scheduler: queues the runs that are due and reaps the runs whose worker died.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::db::runs;

/// Starts the scheduler's tasks; they end when `shutdown` fires.
pub(super) fn start(engine: &Arc<Engine>, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
    vec![tokio::spawn(scheduler(engine.clone(), shutdown.clone()))]
}

async fn scheduler(engine: Arc<Engine>, shutdown: CancellationToken) {
    loop {
        if let Err(error) = schedule_once(&engine).await {
            tracing::warn!(error = format!("{error:#}"), "scheduling sync runs failed");
        }
        tokio::select! {
            () = tokio::time::sleep(engine.config.schedule) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

async fn schedule_once(engine: &Engine) -> anyhow::Result<()> {
    let mut conn = engine.pool.get().await?;
    runs::reap_expired_leases(&mut conn).await?;
    let queued = runs::enqueue_due(&mut conn).await?;
    if queued > 0 {
        tracing::info!(queued, "queued scheduled sync runs");
    }
    Ok(())
}
