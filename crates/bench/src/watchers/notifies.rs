//! Counts the NOTIFYs the database sends on the sync events channel, per run, with a LISTEN of
//! the benchmark's own: the server's hub is one more listener of the same channel, so this sees
//! every notification it sees. "One NOTIFY per event whatever the number of subscribers" holds
//! when a run's count equals its stored events with 1,000 subscribers as with none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use oblique::db::run_events::EVENTS_CHANNEL;
use tokio_postgres::{AsyncMessage, Client};
use uuid::Uuid;

pub struct NotifyCounter {
    counts: Arc<Mutex<HashMap<Uuid, u64>>>,
    /// Kept open: the LISTEN lasts as long as its connection.
    client: Client,
}

impl NotifyCounter {
    pub async fn listen(url: &str) -> anyhow::Result<Self> {
        let (client, mut connection) = oblique::db::connect::connect(url).await?;
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let counting = counts.clone();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let AsyncMessage::Notification(notification) = message {
                    let run_id = serde_json::from_str::<serde_json::Value>(notification.payload())
                        .ok()
                        .and_then(|event| event["run_id"].as_str()?.parse::<Uuid>().ok());
                    if let (Some(run_id), Ok(mut counts)) = (run_id, counting.lock()) {
                        *counts.entry(run_id).or_default() += 1;
                    }
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {EVENTS_CHANNEL}"))
            .await?;
        Ok(NotifyCounter { counts, client })
    }

    /// NOTIFYs received for `run_id`, after a round trip on the listening connection, so that
    /// any the server had already sent are read first.
    pub async fn count(&self, run_id: Uuid) -> anyhow::Result<u64> {
        self.client.batch_execute("SELECT 1").await?;
        Ok(self
            .counts
            .lock()
            .map(|counts| counts.get(&run_id).copied().unwrap_or_default())
            .unwrap_or_default())
    }
}
