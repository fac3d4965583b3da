//! One LISTEN connection per process turns NOTIFYs into in-process broadcasts: sync events for
//! streaming RPCs (from runs on any replica) and "a run was queued" wake-ups for workers.

use std::{sync::Arc, time::Duration};

use diesel_async::RunQueryDsl;
use futures::StreamExt;
use tokio::sync::{Notify, broadcast};

use super::events::{EVENTS_CHANNEL, SyncEvent};

/// Published when a run is queued, so idle workers start at once instead of at their next poll.
pub const QUEUED_CHANNEL: &str = "oblique_runs_queued";
/// Events a subscriber may fall behind by before it is cut off; the sync itself never waits.
const BROADCAST_CAPACITY: usize = 4096;
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct EventHub {
    events: broadcast::Sender<Arc<SyncEvent>>,
    queued: Arc<Notify>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    pub fn new() -> Self {
        EventHub {
            events: broadcast::channel(BROADCAST_CAPACITY).0,
            queued: Arc::new(Notify::new()),
        }
    }

    /// Live events of every run, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<SyncEvent>> {
        self.events.subscribe()
    }

    /// Resolves when some replica queued a run (or spuriously; callers re-check the queue).
    pub async fn run_queued(&self) {
        self.queued.notified().await;
    }

    /// Broadcasts an event as if it had arrived by NOTIFY (for tests of the streams).
    #[cfg(test)]
    pub fn publish(&self, event: SyncEvent) {
        let _ = self.events.send(Arc::new(event));
    }

    /// Listens forever, reconnecting after a database outage. Events NOTIFYed while the
    /// connection is down are not broadcast; they stay readable from `sync_events`.
    pub async fn listen(self, database_url: String) {
        loop {
            match self.listen_once(&database_url).await {
                Ok(()) => tracing::warn!("event listener connection closed; reconnecting"),
                Err(error) => tracing::warn!(%error, "event listener failed; reconnecting"),
            }
            tokio::time::sleep(RECONNECT_DELAY).await;
        }
    }

    async fn listen_once(&self, database_url: &str) -> anyhow::Result<()> {
        let mut conn = crate::db::connect::establish(database_url).await?;
        diesel::sql_query(format!("LISTEN {EVENTS_CHANNEL}"))
            .execute(&mut conn)
            .await?;
        diesel::sql_query(format!("LISTEN {QUEUED_CHANNEL}"))
            .execute(&mut conn)
            .await?;
        tracing::debug!("listening for sync events");
        // Anything queued while we were not listening is picked up by this wake-up.
        self.queued.notify_waiters();
        let mut notifications = std::pin::pin!(conn.notifications_stream());
        while let Some(notification) = notifications.next().await {
            let notification = notification?;
            if notification.channel == QUEUED_CHANNEL {
                self.queued.notify_waiters();
                continue;
            }
            match serde_json::from_str::<SyncEvent>(&notification.payload) {
                // No receivers is fine: nobody is watching.
                Ok(event) => drop(self.events.send(Arc::new(event))),
                Err(error) => tracing::warn!(%error, "unreadable sync event notification"),
            }
        }
        Ok(())
    }
}
