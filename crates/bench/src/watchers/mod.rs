//! `--watchers N`: streaming fan-out (P7). The synthetic directory's initial sync, timed once
//! with no subscriber and once with N `WatchSyncRun` streams on its run plus min(100, N)
//! `SubscribeSyncEvents` streams on its integration, all open before the pull starts, served
//! by Oblique's own server in this process ([`server`]). Each sync gets a fresh database of its
//! own, so that both are initial syncs into empty tables. Every subscriber's events are then
//! checked against the run's stored ones, the NOTIFYs of each run counted ([`notifies`]), and
//! the process's RSS read before and after the streams were opened.

mod notifies;
mod report;
mod server;
mod subscribers;

use std::time::Duration;

use crate::database::BenchDatabase;
use crate::measure::proc_status_mb;
use crate::synthetic::Sizes;
use crate::{Bench, RunResult};
use notifies::NotifyCounter;
use server::InProcessServer;
use subscribers::{Connections, EventKey, Received, Subscribers};

pub use report::WatchersReport;

/// What `--watchers` runs.
#[derive(Debug, Clone, Copy)]
pub struct WatchersLoad {
    pub sizes: Sizes,
    /// `WatchSyncRun` streams on the run.
    pub watchers: usize,
}

impl WatchersLoad {
    /// `SubscribeSyncEvents` streams: 100, fewer when there are fewer watchers.
    pub fn subscribers(&self) -> usize {
        self.watchers.min(100)
    }
}

/// How long after the pull the last subscriber may take to get FINISHED before it counts as
/// missing events.
const GRACE: Duration = Duration::from_secs(120);

/// One sync and what its subscribers saw.
pub struct ObservedSync {
    pub run: RunResult,
    /// The run's stored events, in order: what every subscriber should have received.
    pub stored: Vec<EventKey>,
    pub notifies: u64,
    pub received: Vec<Received>,
    pub connections: usize,
    /// VmRSS growth from before the connections were made to after every stream was open.
    pub subscribed_rss_mb: f64,
}

impl ObservedSync {
    /// Events each subscriber missed, got twice or out of order, summed.
    pub fn events_missing(&self) -> u64 {
        self.received
            .iter()
            .map(|received| missing(&self.stored, &received.events))
            .sum()
    }

    pub fn failed_streams(&self) -> impl Iterator<Item = &str> {
        self.received
            .iter()
            .filter_map(|received| received.error.as_deref())
    }
}

/// One round on the (fresh) database at `url`; the watched sync runs on a second database made
/// beside it and dropped afterwards.
pub async fn run_round(url: &str, load: WatchersLoad) -> anyhow::Result<WatchersReport> {
    eprintln!("oblique-bench: initial sync, no subscriber");
    let quiet = observed_sync(url, load.sizes, 0, 0).await?;
    let second = BenchDatabase::open(Some(url), None).await?;
    eprintln!(
        "oblique-bench: initial sync, {} WatchSyncRun and {} SubscribeSyncEvents subscribers",
        load.watchers,
        load.subscribers()
    );
    let watched = observed_sync(&second.url, load.sizes, load.watchers, load.subscribers()).await;
    second.close().await?;
    Ok(WatchersReport {
        load,
        quiet,
        watched: watched?,
    })
}

async fn observed_sync(
    url: &str,
    sizes: Sizes,
    watchers: usize,
    subscribers: usize,
) -> anyhow::Result<ObservedSync> {
    // Migrates the database too.
    let bench = Bench::setup(url, sizes).await?;
    let server = InProcessServer::start(url).await?;
    let notifies = NotifyCounter::listen(url).await?;
    let rss_before = proc_status_mb("VmRSS").unwrap_or_default();
    let mut connections =
        Connections::connect(server.address, &server.token, watchers + subscribers).await?;
    let mut streams = Subscribers::default();
    // Before the run is queued: these streams only see live events.
    streams
        .subscribe(
            &mut connections,
            &bench.integration_id().to_string(),
            subscribers,
        )
        .await?;
    let (run, (run_id, rss_after)) = bench
        .sync_observed(0, async |run| {
            // Claimed, not yet pulled: the watchers get the events so far as a replay.
            streams
                .watch(&mut connections, &run.id.to_string(), watchers)
                .await?;
            Ok((run.id, proc_status_mb("VmRSS").unwrap_or_default()))
        })
        .await?;
    let received = streams.finish(GRACE).await?;
    let stored = stored_events(url, run_id).await?;
    let notifies = notifies.count(run_id).await?;
    server.stop().await?;
    Ok(ObservedSync {
        run,
        stored,
        notifies,
        received,
        connections: connections.count(),
        subscribed_rss_mb: rss_after - rss_before,
    })
}

async fn stored_events(url: &str, run_id: uuid::Uuid) -> anyhow::Result<Vec<EventKey>> {
    let (client, connection) = oblique::db::connect::connect(url).await?;
    let connection = tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT seq, kind, processed FROM sync_events WHERE run_id = $1 ORDER BY seq",
            &[&run_id],
        )
        .await?;
    drop(client);
    let _ = connection.await;
    Ok(rows
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect())
}

/// Stored events a subscriber did not receive in order, plus events it received that do not
/// fit that order (twice, out of order, or not the run's): 0 exactly when it received the
/// stored events, all and in order.
fn missing(stored: &[EventKey], received: &[EventKey]) -> u64 {
    let mut next = 0;
    let mut matched = 0;
    let mut misplaced = 0;
    for event in received {
        match stored[next..].iter().position(|expected| expected == event) {
            Some(offset) => {
                next += offset + 1;
                matched += 1;
            }
            None => misplaced += 1,
        }
    }
    (stored.len() - matched + misplaced) as u64
}

#[cfg(test)]
mod tests {
    use super::missing;

    fn events(seqs: &[i64]) -> Vec<(i64, String, i64)> {
        seqs.iter()
            .map(|&seq| (seq, "progress".into(), seq))
            .collect()
    }

    #[test]
    fn counts_events_missed_repeated_or_out_of_order() {
        let stored = events(&[1, 2, 3, 4]);
        assert_eq!(missing(&stored, &events(&[1, 2, 3, 4])), 0);
        assert_eq!(missing(&stored, &events(&[1, 3, 4])), 1);
        assert_eq!(missing(&stored, &events(&[1, 2, 2, 3, 4])), 1);
        assert_eq!(missing(&stored, &events(&[2, 1, 3, 4])), 2);
        assert_eq!(missing(&stored, &[]), 4);
    }
}
