//! Live progress of an integration's runs as server-sent events, fed by the same event hub as
//! SubscribeSyncEvents. The hub never waits for a reader: a browser that falls behind skips
//! events (the page shows the latest one anyway) and the stream ends at shutdown. Each open
//! stream is counted in `oblique_subscribers`, as a SubscribeSyncEvents stream is.

use std::convert::Infallible;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::session::Signed;
use super::{Console, failure};
use crate::domain::integrations;
use crate::domain::runs::{self, SyncEvent, SyncRunRow};
use crate::metrics::SubscriberGuard;

pub async fn stream(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
) -> Response {
    let ctx = &console.ctx;
    if let Err(error) = integrations::ensure_exists(ctx, id).await {
        return failure::page(error, Some(&signed));
    }
    // Subscribed before looking at the runs: a run that ends in between is seen either way.
    let receiver = ctx.hub.subscribe();
    let last = match runs::list(ctx, Some(id), None, 1).await {
        Ok(runs) => runs.into_iter().next(),
        Err(error) => return failure::page(error, Some(&signed)),
    };
    // A run that ended before the browser connected (a quick first sync, often) is told at once.
    let first = match &last {
        Some(run) if run.state.is_finished() => Some(finished(&ended(run))),
        Some(_) => None,
        None => Some(finished("no sync is running")),
    };
    let open = SubscriberGuard::new(&ctx.metrics);
    Sse::new(events(id, receiver, first, ctx.shutdown.clone(), open))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// How a run that has ended ended, as its FINISHED event says it.
fn ended(run: &SyncRunRow) -> String {
    let mut text = run.state.as_str().to_string();
    if let Some(error) = &run.error {
        text.push_str(&format!(" · {error}"));
    }
    text.replace(['\n', '\r'], " ")
}

struct Follow {
    integration_id: Uuid,
    receiver: Receiver<std::sync::Arc<SyncEvent>>,
    pending: Option<Event>,
    done: bool,
    shutdown: CancellationToken,
    /// Counted in `oblique_subscribers` until the stream ends or the browser leaves.
    _open: SubscriberGuard,
}

fn events(
    integration_id: Uuid,
    receiver: Receiver<std::sync::Arc<SyncEvent>>,
    first: Option<Event>,
    shutdown: CancellationToken,
    open: SubscriberGuard,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let follow = Follow {
        integration_id,
        receiver,
        done: false,
        pending: first,
        shutdown,
        _open: open,
    };
    futures::stream::unfold(follow, |mut follow| async move {
        if follow.done {
            return None;
        }
        if let Some(event) = follow.pending.take() {
            follow.done = true;
            return Some((Ok(event), follow));
        }
        loop {
            let received = tokio::select! {
                () = follow.shutdown.cancelled() => return None,
                received = follow.receiver.recv() => received,
            };
            match received {
                Ok(event) if event.integration_id == follow.integration_id => {
                    follow.done = event.is_terminal();
                    return Some((Ok(describe(&event)), follow));
                }
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

fn finished(text: &str) -> Event {
    Event::default().event("finished").data(text)
}

/// One line a person reads; the page puts it in as text, never as markup.
fn describe(event: &SyncEvent) -> Event {
    let mut text = event.state.as_str().to_string();
    if let Some(phase) = event.phase {
        text.push_str(&format!(": {}", phase.as_str()));
    }
    if event.processed > 0 || event.total > 0 {
        text.push_str(&format!(" ({}", event.processed));
        if event.total > 0 {
            text.push_str(&format!(" of {}", event.total));
        }
        text.push(')');
    }
    if !event.message.is_empty() {
        text.push_str(&format!(" · {}", event.message));
    }
    let text = text.replace(['\n', '\r'], " ");
    if event.is_terminal() {
        finished(&text)
    } else {
        Event::default().event("progress").data(text)
    }
}
