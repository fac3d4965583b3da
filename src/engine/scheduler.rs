//! The scheduler's jobs, each a loop of its own that logs its failures and goes on: reaping the
//! runs whose worker died, and queueing the runs that are due. A lock wait or an error in one
//! never holds up the other (grant expiry, a use case above the engine, is a third such loop,
//! started beside these by the server).

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::db::runs;

/// Starts the scheduler's jobs; they end when `shutdown` fires.
pub(super) fn start(engine: &Arc<Engine>, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(every_tick(
            engine.clone(),
            shutdown.clone(),
            "reaping expired leases",
            reap,
        )),
        tokio::spawn(every_tick(
            engine.clone(),
            shutdown.clone(),
            "queueing due sync runs",
            enqueue_due,
        )),
    ]
}

/// Runs `job` at once and then every `schedule` until `shutdown`, logging its failures.
async fn every_tick(
    engine: Arc<Engine>,
    shutdown: CancellationToken,
    name: &'static str,
    job: impl AsyncFn(&Engine) -> anyhow::Result<()>,
) {
    loop {
        if let Err(error) = job(&engine).await {
            tracing::warn!(
                error = format!("{error:#}"),
                job = name,
                "a scheduler job failed"
            );
        }
        tokio::select! {
            () = tokio::time::sleep(engine.config.schedule) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

async fn reap(engine: &Engine) -> anyhow::Result<()> {
    let mut conn = engine.pool.get().await?;
    runs::reap_expired_leases(&mut conn).await?;
    Ok(())
}

async fn enqueue_due(engine: &Engine) -> anyhow::Result<()> {
    let mut conn = engine.pool.get().await?;
    let queued = runs::enqueue_due(&mut conn).await?;
    if queued > 0 {
        tracing::info!(queued, "queued scheduled sync runs");
    }
    Ok(())
}
