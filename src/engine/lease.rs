//! Keeping a claimed run's lease while it runs. Heartbeats use a connection of their own, outside
//! the pool: when callers or handlers exhaust the pool, a running sync must not lose its lease and
//! be run a second time elsewhere.

use std::sync::Arc;

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Engine;
use crate::db::run_events::EventKind;
use crate::db::runs;

/// Heartbeats until the run ends; fires `stop` when the run is no longer ours (cancelled, its
/// integration deleted, or its lease lost). A cancellation's FINISHED event, from any replica,
/// stops it at once; the heartbeat catches anything the event stream missed.
pub(super) async fn keep_lease(
    engine: Arc<Engine>,
    worker: String,
    run_id: Uuid,
    stop: CancellationToken,
) {
    let mut events = engine.hub.subscribe();
    let mut ticker = tokio::time::interval(engine.config.heartbeat);
    let mut conn: Option<AsyncPgConnection> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                // Bounded by the lease: a heartbeat that takes longer is useless anyway.
                let renewed = tokio::time::timeout(
                    engine.config.lease,
                    renew(&engine, &mut conn, run_id, &worker),
                )
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("heartbeat timed out")));
                match renewed {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(error) => {
                        // Reconnect on the next beat.
                        conn = None;
                        tracing::warn!(error = format!("{error:#}"), %run_id, "heartbeat failed");
                    }
                }
            }
            event = events.recv() => {
                if let Ok(event) = event
                    && event.run_id == run_id
                    && event.kind == EventKind::Finished
                {
                    break;
                }
            }
        }
    }
    stop.cancel();
}

/// Extends the lease on the keeper's own connection, (re)connecting when it has none.
async fn renew(
    engine: &Engine,
    conn: &mut Option<AsyncPgConnection>,
    run_id: Uuid,
    worker: &str,
) -> anyhow::Result<bool> {
    let conn = match conn {
        Some(conn) => conn,
        None => conn.insert(connect_outside_pool(&engine.database_url).await?),
    };
    Ok(runs::heartbeat(conn, run_id, worker, engine.config.lease).await?)
}

/// A connection of the keeper's own, named so that it shows as such in pg_stat_activity.
async fn connect_outside_pool(database_url: &str) -> anyhow::Result<AsyncPgConnection> {
    let mut conn = crate::db::connect::establish(database_url).await?;
    conn.batch_execute("SET application_name = 'oblique-lease'")
        .await?;
    Ok(conn)
}
