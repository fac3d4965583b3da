//! The subscribers of `--watchers`: `WatchSyncRun` and `SubscribeSyncEvents` streams spread
//! over several HTTP/2 connections (as many dashboards would open them; one connection may
//! carry only the server's `max_streams_per_connection`), each read to its run's FINISHED event
//! by a task of its own that keeps what it received for the check.

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use oblique::pb::sync_service_client::SyncServiceClient;
use oblique::pb::{self, SubscribeSyncEventsRequest, WatchSyncRunRequest};
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::Streaming;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

/// Streams per HTTP/2 connection: a tenth of what the server allows, like a fleet of
/// dashboards rather than one client multiplexing everything.
const STREAMS_PER_CONNECTION: usize = 100;
/// Streams being opened at once: beyond the server's cap on calls in progress they would be
/// shed (RESOURCE_EXHAUSTED), as a reconnecting fleet backs off.
const OPENING_AT_ONCE: usize = 32;

/// One received event, as compared with the stored ones: sequence number, kind
/// (`progress`, …, the stored spelling) and objects processed.
pub type EventKey = (i64, String, i64);

/// What one subscriber received, in order, and how its stream ended if not at FINISHED.
pub struct Received {
    pub events: Vec<EventKey>,
    pub error: Option<String>,
}

/// The HTTP/2 connections the streams share, each carrying up to [`STREAMS_PER_CONNECTION`].
pub struct Connections {
    channels: Vec<Channel>,
    bearer: MetadataValue<tonic::metadata::Ascii>,
    opened: usize,
}

impl Connections {
    /// Enough connections for `streams` streams.
    pub async fn connect(
        address: SocketAddr,
        token: &SecretString,
        streams: usize,
    ) -> anyhow::Result<Self> {
        let mut channels = Vec::new();
        for _ in 0..streams.div_ceil(STREAMS_PER_CONNECTION) {
            channels.push(
                Channel::from_shared(format!("http://{address}"))?
                    .connect()
                    .await?,
            );
        }
        Ok(Connections {
            channels,
            bearer: format!("Bearer {}", token.expose_secret()).parse()?,
            opened: 0,
        })
    }

    pub fn count(&self) -> usize {
        self.channels.len()
    }

    /// The next `count` streams' clients, filling each connection in turn.
    fn clients(&mut self, count: usize) -> Vec<SyncServiceClient<Channel>> {
        (0..count)
            .map(|_| {
                let channel = &self.channels[(self.opened / STREAMS_PER_CONNECTION)
                    .min(self.channels.len().saturating_sub(1))];
                self.opened += 1;
                SyncServiceClient::new(channel.clone())
            })
            .collect()
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", self.bearer.clone());
        request
    }
}

/// Open streams being read, and what stops them if FINISHED never comes.
pub struct Subscribers {
    tasks: Vec<JoinHandle<Received>>,
    give_up: CancellationToken,
}

impl Default for Subscribers {
    fn default() -> Self {
        Subscribers {
            tasks: Vec::new(),
            give_up: CancellationToken::new(),
        }
    }
}

impl Subscribers {
    /// Opens `count` `SubscribeSyncEvents` streams on the integration's events.
    pub async fn subscribe(
        &mut self,
        connections: &mut Connections,
        integration_id: &str,
        count: usize,
    ) -> anyhow::Result<()> {
        let message = SubscribeSyncEventsRequest {
            integration_id: integration_id.to_string(),
        };
        let opened = open(connections, count, message, async |mut client, request| {
            client.subscribe_sync_events(request).await
        })
        .await;
        self.read_all(opened)
    }

    /// Opens `count` `WatchSyncRun` streams on the run.
    pub async fn watch(
        &mut self,
        connections: &mut Connections,
        run_id: &str,
        count: usize,
    ) -> anyhow::Result<()> {
        let message = WatchSyncRunRequest {
            run_id: run_id.to_string(),
        };
        let opened = open(connections, count, message, async |mut client, request| {
            client.watch_sync_run(request).await
        })
        .await;
        self.read_all(opened)
    }

    fn read_all(&mut self, opened: Vec<Opened>) -> anyhow::Result<()> {
        for stream in opened {
            let stream = stream
                .map_err(|status| anyhow::anyhow!("opening a stream: {status}"))?
                .into_inner();
            self.tasks
                .push(tokio::spawn(read_to_finished(stream, self.give_up.clone())));
        }
        Ok(())
    }

    /// What every subscriber received, waiting at most `grace` for the last FINISHED.
    pub async fn finish(self, grace: Duration) -> anyhow::Result<Vec<Received>> {
        let give_up = self.give_up.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            give_up.cancel();
        });
        let mut received = Vec::with_capacity(self.tasks.len());
        for task in self.tasks {
            received.push(task.await?);
        }
        timer.abort();
        Ok(received)
    }
}

/// Reads `stream` until FINISHED, its end, an error or `give_up`.
async fn read_to_finished(
    mut stream: Streaming<pb::SyncEvent>,
    give_up: CancellationToken,
) -> Received {
    let mut received = Received {
        events: Vec::new(),
        error: None,
    };
    loop {
        let next = tokio::select! {
            next = stream.message() => next,
            () = give_up.cancelled() => {
                received.error = Some("no FINISHED event within the grace period".into());
                return received;
            }
        };
        match next {
            Ok(Some(event)) => {
                let finished = event.kind() == pb::SyncEventKind::Finished;
                received
                    .events
                    .push((event.seq, kind_name(event.kind()), event.processed));
                if finished {
                    return received;
                }
            }
            Ok(None) => {
                received.error = Some("the stream ended before FINISHED".into());
                return received;
            }
            Err(status) => {
                received.error = Some(status.to_string());
                return received;
            }
        }
    }
}

/// The stored spelling of a kind: `SYNC_EVENT_KIND_PROGRESS` is `progress`.
fn kind_name(kind: pb::SyncEventKind) -> String {
    kind.as_str_name()
        .trim_start_matches("SYNC_EVENT_KIND_")
        .to_lowercase()
}

type Opened = Result<tonic::Response<Streaming<pb::SyncEvent>>, tonic::Status>;

/// Opens `count` streams with `call`, each asking for `message`, at most
/// `OPENING_AT_ONCE` at a time.
async fn open<T: Clone>(
    connections: &mut Connections,
    count: usize,
    message: T,
    call: impl AsyncFn(SyncServiceClient<Channel>, tonic::Request<T>) -> Opened,
) -> Vec<Opened> {
    let requests: Vec<_> = connections
        .clients(count)
        .into_iter()
        .map(|client| (client, connections.request(message.clone())))
        .collect();
    futures::stream::iter(requests)
        .map(|(client, request)| call(client, request))
        .buffer_unordered(OPENING_AT_ONCE)
        .collect()
        .await
}
