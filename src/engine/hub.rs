//! One LISTEN connection per process turns NOTIFYs into in-process broadcasts: sync events for
//! streaming RPCs (from runs on any replica) and "a run was queued" wake-ups for workers.

use std::{
    sync::Arc,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use diesel_async::RunQueryDsl;
use futures::StreamExt;
use tokio::sync::{Notify, broadcast, watch};

use crate::db::run_events::{EVENTS_CHANNEL, SyncEvent};
use crate::db::runs::QUEUED_CHANNEL;

/// Events a subscriber may fall behind by before it is cut off; the sync itself never waits.
const BROADCAST_CAPACITY: usize = 4096;
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// How often the listener asks its connection for an answer while no notification comes, and
/// how long it waits for one. A LISTEN connection only reads: without this, one whose server or
/// network vanished without closing it (half-open) would wait for notifications for ever while
/// every stream on this replica went silent.
const PING_EVERY: Duration = Duration::from_secs(5);
const PING_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct EventHub {
    events: broadcast::Sender<Arc<SyncEvent>>,
    queued: Arc<Notify>,
    /// Bumped each time the listener (re)starts listening: events NOTIFYed while it was not
    /// were never broadcast, so watchers read them back from the database then.
    listening: Arc<watch::Sender<u64>>,
    /// How often watchers read stored events (replays and catch-ups), for tests and metrics.
    stored_reads: Arc<AtomicU64>,
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
            listening: Arc::new(watch::channel(0).0),
            stored_reads: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Live events of every run, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<SyncEvent>> {
        self.events.subscribe()
    }

    /// Changes each time the listener starts listening again after a break.
    pub fn listening(&self) -> watch::Receiver<u64> {
        self.listening.subscribe()
    }

    /// Counts one read of stored events by a watcher.
    pub fn count_stored_read(&self) {
        self.stored_reads.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads of stored events by watchers so far.
    pub fn stored_reads(&self) -> u64 {
        AtomicU64::load(&self.stored_reads, Ordering::Relaxed)
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
        // Anything queued while we were not listening is picked up by this wake-up, and
        // watchers read back the events they may have missed.
        self.queued.notify_waiters();
        self.listening.send_modify(|generation| *generation += 1);
        loop {
            // A new stream each time round: it only reads the connection's notification
            // channel, which keeps what arrives while the ping runs.
            let next = {
                let mut notifications = std::pin::pin!(conn.notifications_stream());
                tokio::time::timeout(PING_EVERY, notifications.next()).await
            };
            let notification = match next {
                Ok(Some(notification)) => notification?,
                Ok(None) => return Ok(()),
                Err(_quiet) => {
                    ping(&mut conn).await?;
                    continue;
                }
            };
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
    }
}

/// A round trip on the listening connection, failing if it takes longer than [`PING_TIMEOUT`].
async fn ping(conn: &mut diesel_async::AsyncPgConnection) -> anyhow::Result<()> {
    use diesel_async::SimpleAsyncConnection;
    match tokio::time::timeout(PING_TIMEOUT, conn.batch_execute("SELECT 1")).await {
        Ok(answered) => Ok(answered?),
        Err(_) => anyhow::bail!("no answer to a ping within {PING_TIMEOUT:?}"),
    }
}
