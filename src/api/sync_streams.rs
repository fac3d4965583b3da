//! The streaming side of SyncService. Each stream is a task feeding a bounded channel; the task
//! only ever `try_send`s, so a slow caller never holds up the event hub (and so never a sync):
//! it is cut off with RESOURCE_EXHAUSTED instead.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::Stream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tonic::Status;
use tracing::Instrument;
use uuid::Uuid;

use super::convert;
use crate::context::AppContext;
use crate::domain::runs::{self, SyncEvent};
use crate::engine::hub::EventHub;
use crate::metrics::{Metrics, SubscriberGuard};
use crate::pb;

/// Events a caller may leave unread before it is cut off.
const STREAM_BUFFER: usize = 256;
/// What a stream open at shutdown ends with.
pub const SHUTTING_DOWN: &str = "the server is shutting down; subscribe again (to another replica, or to this one once it is back)";
/// A watch whose read of stored events failed tries again after this long.
const READ_RETRY: Duration = Duration::from_secs(1);

pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::SyncEvent, Status>> + Send>>;

/// A channel's items, or one error and the end when the producer cuts the caller off.
struct CutOff {
    items: mpsc::Receiver<pb::SyncEvent>,
    cut: Option<oneshot::Receiver<Status>>,
    /// Set once the error went out: events still buffered are dropped, not sent after it.
    ended: bool,
}

impl Stream for CutOff {
    type Item = Result<pb::SyncEvent, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(cut) = self.cut.as_mut()
            && let Poll::Ready(status) = Pin::new(cut).poll(cx)
        {
            self.cut = None;
            if let Ok(status) = status {
                self.ended = true;
                self.items.close();
                return Poll::Ready(Some(Err(status)));
            }
        }
        self.items.poll_recv(cx).map(|item| item.map(Ok))
    }
}

/// The producer's end: delivers events without ever waiting for the caller.
struct Feed {
    items: mpsc::Sender<pb::SyncEvent>,
    cut: Option<oneshot::Sender<Status>>,
}

impl Feed {
    fn new() -> (Feed, EventStream) {
        let (items_tx, items_rx) = mpsc::channel(STREAM_BUFFER);
        let (cut_tx, cut_rx) = oneshot::channel();
        let feed = Feed {
            items: items_tx,
            cut: Some(cut_tx),
        };
        let stream = CutOff {
            items: items_rx,
            cut: Some(cut_rx),
            ended: false,
        };
        (feed, Box::pin(stream))
    }

    /// False when the stream is over: the caller left, or was cut off for falling behind.
    fn send(&mut self, event: &SyncEvent) -> bool {
        match self.items.try_send(convert::sync_event(event)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.cut_off(format!(
                    "the caller fell {STREAM_BUFFER} events behind; stream closed"
                ));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn cut_off(&mut self, reason: String) {
        tracing::info!(%reason, "cutting off a slow sync event subscriber");
        self.end_with(Status::resource_exhausted(reason));
    }

    /// Ends the stream with UNAVAILABLE, so that the caller knows to connect again (to another
    /// replica, or to this one once it is back) rather than take the end for "no more events".
    fn shut_down(&mut self) {
        self.end_with(Status::unavailable(SHUTTING_DOWN));
    }

    fn end_with(&mut self, status: Status) {
        if let Some(cut) = self.cut.take() {
            let _ = cut.send(status);
        }
    }
}

/// The stream, counted in `oblique_subscribers` for as long as the caller holds it.
pub fn counted(stream: EventStream, metrics: &Metrics) -> EventStream {
    use futures::StreamExt;
    let open = SubscriberGuard::new(metrics);
    Box::pin(stream.inspect(move |_| {
        let _ = &open;
    }))
}

/// Live events of every run (or one integration's) until the caller leaves or the process stops.
pub fn subscribe(
    hub: &EventHub,
    integration_id: Option<Uuid>,
    shutdown: CancellationToken,
) -> EventStream {
    let (mut feed, stream) = Feed::new();
    let mut live = hub.subscribe();
    // In the caller's span, so what the stream logs carries its request id.
    tokio::spawn(
        async move {
            loop {
                let event = tokio::select! {
                    event = live.recv() => event,
                    () = feed.items.closed() => return,
                    () = shutdown.cancelled() => return feed.shut_down(),
                };
                match event {
                    Ok(event) => {
                        if integration_id.is_some_and(|id| id != event.integration_id) {
                            continue;
                        }
                        if !feed.send(&event) {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        feed.cut_off(format!(
                            "the caller fell {missed} events behind; stream closed"
                        ));
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
        .in_current_span(),
    );
    stream
}

/// The run's events so far, then live ones, ending after its FINISHED event. Order and
/// completeness come from the stored sequence: the database is read once for the replay and
/// again only when the live feed skips (a gap, a lag, or the listener reconnecting), so any
/// number of watchers share the one LISTEN feed instead of each polling.
pub fn watch(ctx: AppContext, run_id: Uuid) -> EventStream {
    let (mut feed, stream) = Feed::new();
    // Subscribed before the replay is read, so nothing falls between the two.
    let mut live = ctx.hub.subscribe();
    let mut listening = ctx.hub.listening();
    // In the caller's span, so what the stream logs carries its request id.
    tokio::spawn(
        async move {
            let mut last_seq = 0;
            let mut read_back = true;
            loop {
                let batch = if read_back {
                    ctx.hub.count_stored_read();
                    match read_stored(&ctx, run_id, last_seq).await {
                        Some(events) => {
                            read_back = false;
                            events
                        }
                        None => {
                            // The database is unreachable: try again shortly, unless the caller left.
                            tokio::select! {
                                () = tokio::time::sleep(READ_RETRY) => continue,
                                () = feed.items.closed() => return,
                                () = ctx.shutdown.cancelled() => return feed.shut_down(),
                            }
                        }
                    }
                } else {
                    tokio::select! {
                        event = live.recv() => match event {
                            Ok(event) if event.run_id != run_id || event.seq <= last_seq => continue,
                            Ok(event) if event.seq == last_seq + 1 => vec![Arc::unwrap_or_clone(event)],
                            // A gap or a lag: read the stored events instead.
                            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                                read_back = true;
                                continue;
                            }
                            Err(broadcast::error::RecvError::Closed) => return,
                        },
                        changed = listening.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            read_back = true;
                            continue;
                        }
                        () = feed.items.closed() => return,
                        () = ctx.shutdown.cancelled() => return feed.shut_down(),
                    }
                };
                for event in batch {
                    last_seq = event.seq;
                    if !feed.send(&event) || event.is_terminal() {
                        return;
                    }
                }
            }
        }
        .in_current_span(),
    );
    stream
}

async fn read_stored(ctx: &AppContext, run_id: Uuid, after: i64) -> Option<Vec<SyncEvent>> {
    match runs::events_after(ctx, run_id, after).await {
        Ok(events) => Some(events),
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), %run_id, "reading stored sync events");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::domain::runs::EventKind;

    fn event(seq: i64) -> SyncEvent {
        SyncEvent {
            run_id: Uuid::nil(),
            integration_id: Uuid::nil(),
            seq,
            at: chrono::Utc::now(),
            kind: EventKind::Progress,
            phase: None,
            processed: seq,
            total: 0,
            stats: None,
            state: crate::model::RunState::Running,
            message: String::new(),
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_stops_reading_is_cut_off_and_publishing_never_waits() {
        let hub = EventHub::new();
        let mut stream = subscribe(&hub, None, CancellationToken::new());
        // Far more than the stream buffers, published without anyone reading: each publish
        // returns at once.
        for seq in 1..=(STREAM_BUFFER as i64 * 4) {
            hub.publish(event(seq));
            tokio::task::yield_now().await;
        }
        let first = stream.next().await.expect("an answer");
        let status = first.expect_err("cut off before the buffered events");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(
            stream.next().await.is_none(),
            "the stream ends after cutting off"
        );
    }

    #[tokio::test]
    async fn a_subscriber_that_keeps_up_gets_every_event_in_order() {
        let hub = EventHub::new();
        let mut stream = subscribe(&hub, None, CancellationToken::new());
        for seq in 1..=10 {
            hub.publish(event(seq));
            let got = stream.next().await.expect("event").expect("ok");
            assert_eq!(got.seq, seq);
        }
    }

    #[tokio::test]
    async fn shutdown_ends_an_endless_subscription_unavailable() {
        let hub = EventHub::new();
        let shutdown = CancellationToken::new();
        let mut stream = subscribe(&hub, None, shutdown.clone());
        shutdown.cancel();
        let ended = stream
            .next()
            .await
            .expect("a status")
            .expect_err("an error");
        assert_eq!(ended.code(), tonic::Code::Unavailable);
        assert_eq!(ended.message(), SHUTTING_DOWN);
        assert!(stream.next().await.is_none());
    }
}
