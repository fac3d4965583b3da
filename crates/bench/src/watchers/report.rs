//! What `--watchers` reports: the watched sync's time against the quiet one's (target ≤ 1.10),
//! events missing across every subscriber (target 0), NOTIFYs per event of each run (target 1,
//! whatever the number of subscribers) and the memory the open streams took.

use super::{ObservedSync, WatchersLoad};
use crate::metric::{Metric, metric, ratio, seconds};
use crate::mode_report::ModeReport;

pub struct WatchersReport {
    pub load: WatchersLoad,
    pub quiet: ObservedSync,
    pub watched: ObservedSync,
}

/// P7: the sync takes at most 10% longer with its subscribers.
const TARGET_SLOWDOWN: f64 = 1.10;

fn notifies_per_event(sync: &ObservedSync) -> f64 {
    let per_event = sync.notifies as f64 / (sync.stored.len() as f64).max(1.0);
    (per_event * 1000.0).round() / 1000.0
}

fn target(metric: Metric, target: String, met: bool) -> Metric {
    Metric {
        target: Some((target, met)),
        ..metric
    }
}

impl ModeReport for WatchersReport {
    fn heading(&self) -> String {
        let sizes = &self.load.sizes;
        format!(
            "--watchers: initial sync of {} accounts, {} resources, {} access pairs; \
             {} WatchSyncRun + {} SubscribeSyncEvents subscribers over {} HTTP/2 connections",
            sizes.accounts,
            sizes.resources,
            sizes.access,
            self.load.watchers,
            self.load.subscribers(),
            self.watched.connections
        )
    }

    fn metrics(&self) -> Vec<Metric> {
        let (quiet, watched) = (&self.quiet, &self.watched);
        let slowdown = ratio(watched.run.elapsed, quiet.run.elapsed);
        let missing = watched.events_missing();
        let streams = watched.received.len();
        let per_subscriber_kb =
            (watched.subscribed_rss_mb * 1024.0 / (streams as f64).max(1.0) * 10.0).round() / 10.0;
        vec![
            metric("watchers_subscribers", streams as u64, "streams"),
            metric("watchers_events", watched.stored.len() as u64, "events"),
            target(
                metric("watchers_events_missing", missing, "events"),
                "= 0".into(),
                missing == 0,
            ),
            metric(
                "watchers_failed_streams",
                watched.failed_streams().count() as u64,
                "streams",
            ),
            metric("watchers_quiet_sync_s", seconds(quiet.run.elapsed), "s"),
            metric("watchers_sync_s", seconds(watched.run.elapsed), "s"),
            target(
                metric("watchers_slowdown_ratio", slowdown, "x"),
                format!("<= {TARGET_SLOWDOWN}"),
                slowdown <= TARGET_SLOWDOWN,
            ),
            target(
                metric(
                    "watchers_quiet_notifies_per_event",
                    notifies_per_event(quiet),
                    "x",
                ),
                "= 1".into(),
                quiet.notifies == quiet.stored.len() as u64,
            ),
            target(
                metric(
                    "watchers_notifies_per_event",
                    notifies_per_event(watched),
                    "x",
                ),
                "= 1".into(),
                watched.notifies == watched.stored.len() as u64,
            ),
            metric("watchers_memory_per_subscriber_kb", per_subscriber_kb, "KB"),
        ]
    }

    fn print_details(&self) {
        let (quiet, watched) = (&self.quiet, &self.watched);
        println!(
            "events: {} stored for the quiet run, {} NOTIFYs; {} stored for the watched run, \
             {} NOTIFYs (counted by a LISTEN of the benchmark's own)",
            quiet.stored.len(),
            quiet.notifies,
            watched.stored.len(),
            watched.notifies
        );
        println!(
            "every subscriber's events compared with the run's stored ones (seq, kind, \
             processed); the WatchSyncRun streams opened once the run was claimed (its first \
             events replayed), the SubscribeSyncEvents ones before it was queued"
        );
        println!(
            "memory: VmRSS of this process (the server and its callers both) grew {:.1} MB \
             while the streams were opened",
            watched.subscribed_rss_mb
        );
        if let Some(error) = watched.failed_streams().next() {
            println!("first stream failure: {error}");
        }
    }
}
