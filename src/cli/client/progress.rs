//! What a watched run's events say, worked out once for the progress bar and the plain lines:
//! the phase, objects listed so far, the rate, and an ETA when the previous run of the same
//! integration tells how many objects to expect. Rates come from the events' own timestamps,
//! not from when they arrive, so the events replayed at the start of a watch do not look like
//! a burst.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::output::{datetime, enum_word};
use crate::pb::{self, SyncEventKind, SyncPhase};

/// Objects each listing phase is expected to list: what the previous successful run saw (the
/// created, updated and unchanged ones; deleted ones were not there to list).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub accounts: Option<i64>,
    pub resources: Option<i64>,
    pub access: Option<i64>,
}

impl Expected {
    pub fn from_run(run: &pb::SyncRun) -> Expected {
        let listed =
            |counts: Option<&pb::ChangeCounts>| counts.map(|c| c.created + c.updated + c.unchanged);
        let stats = run.stats.as_ref();
        Expected {
            accounts: listed(stats.and_then(|s| s.accounts.as_ref())),
            resources: listed(stats.and_then(|s| s.resources.as_ref())),
            access: listed(stats.and_then(|s| s.access.as_ref())),
        }
    }

    pub fn of(&self, phase: SyncPhase) -> Option<i64> {
        match phase {
            SyncPhase::Accounts => self.accounts,
            SyncPhase::Resources => self.resources,
            SyncPhase::Access => self.access,
            SyncPhase::Push | SyncPhase::Unspecified => None,
        }
    }
}

/// The phase being watched: when it started and how far it got.
#[derive(Debug, Default)]
pub struct Tracker {
    expected: Expected,
    phase: Option<SyncPhase>,
    started: Option<DateTime<Utc>>,
    processed: i64,
}

impl Tracker {
    pub fn new(expected: Expected) -> Tracker {
        Tracker {
            expected,
            ..Default::default()
        }
    }

    /// Takes in one event.
    pub fn observe(&mut self, event: &pb::SyncEvent) {
        let at = event.at.as_ref().and_then(datetime);
        match event.kind() {
            SyncEventKind::PhaseStarted => {
                self.phase = Some(event.phase());
                self.started = at;
                self.processed = 0;
            }
            SyncEventKind::Progress | SyncEventKind::PhaseFinished => {
                if self.phase != Some(event.phase()) {
                    // The watch began mid-phase: its start is not known, so no rate.
                    self.phase = Some(event.phase());
                    self.started = None;
                }
                self.processed = event.processed;
            }
            _ => {}
        }
    }

    pub fn phase(&self) -> Option<SyncPhase> {
        self.phase
    }

    pub fn processed(&self) -> i64 {
        self.processed
    }

    /// How many objects the current phase is expected to list.
    pub fn expected(&self) -> Option<i64> {
        self.expected.of(self.phase?)
    }

    /// Objects a second since the phase started, at `at`.
    pub fn rate(&self, at: DateTime<Utc>) -> Option<f64> {
        let seconds = (at - self.started?).num_milliseconds() as f64 / 1000.0;
        (seconds >= 0.5 && self.processed > 0).then(|| self.processed as f64 / seconds)
    }

    /// Time left at the current rate, when there is an expectation still ahead.
    pub fn eta(&self, at: DateTime<Utc>) -> Option<Duration> {
        let left = self.expected()? - self.processed;
        let rate = self.rate(at)?;
        (left > 0).then(|| Duration::from_secs_f64(left as f64 / rate))
    }

    /// `600/s, ETA 12s`, or what of it is known; empty when nothing is.
    pub fn speed(&self, at: Option<DateTime<Utc>>) -> String {
        let Some(at) = at else { return String::new() };
        let mut parts = Vec::new();
        if let Some(rate) = self.rate(at) {
            parts.push(format!("{rate:.0}/s"));
        }
        if let Some(eta) = self.eta(at) {
            parts.push(format!("ETA {}", short_duration(eta)));
        }
        parts.join(", ")
    }

    /// One event as a line of text (after `observe`), without its time.
    pub fn describe(&self, event: &pb::SyncEvent) -> String {
        let phase = phase_word(event.phase());
        let at = event.at.as_ref().and_then(datetime);
        let with_message = |text: String| {
            if event.message.is_empty() {
                text
            } else {
                format!("{text}: {}", event.message)
            }
        };
        match event.kind() {
            SyncEventKind::StateChanged => {
                with_message(format!("state {}", state_word(event.state())))
            }
            SyncEventKind::PhaseStarted => match self.expected() {
                Some(expected) => format!("{phase} started (~{expected} expected)"),
                None => format!("{phase} started"),
            },
            SyncEventKind::Progress => {
                let mut text = format!("{phase} {} listed", event.processed);
                if let Some(expected) = self.expected() {
                    text.push_str(&format!(" of ~{expected}"));
                }
                let speed = self.speed(at);
                if !speed.is_empty() {
                    text.push_str(&format!(" ({speed})"));
                }
                text
            }
            SyncEventKind::Warning => format!("{phase} warning: {}", event.message),
            SyncEventKind::PhaseFinished => {
                let text = with_message(format!("{phase} finished"));
                match self.speed(at) {
                    speed if speed.is_empty() => text,
                    speed => format!("{text} ({speed})"),
                }
            }
            SyncEventKind::Finished => {
                with_message(format!("finished {}", state_word(event.state())))
            }
            SyncEventKind::Unspecified => with_message("event".to_string()),
        }
    }
}

pub fn phase_word(phase: SyncPhase) -> String {
    enum_word(phase.as_str_name(), "SYNC_PHASE_")
}

pub fn state_word(state: pb::SyncRunState) -> String {
    enum_word(state.as_str_name(), "SYNC_RUN_STATE_")
}

/// `45s`, `3m05s`, `2h10m`.
pub fn short_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: SyncEventKind, phase: SyncPhase, processed: i64, second: i64) -> pb::SyncEvent {
        pb::SyncEvent {
            kind: kind as i32,
            phase: phase as i32,
            processed,
            at: Some(prost_types::Timestamp {
                seconds: 1_700_000_000 + second,
                nanos: 0,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn rate_and_eta_come_from_the_event_times_and_the_previous_run() {
        let previous = pb::SyncRun {
            stats: Some(pb::SyncStats {
                accounts: Some(pb::ChangeCounts {
                    created: 100,
                    updated: 100,
                    deleted: 50,
                    unchanged: 800,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut tracker = Tracker::new(Expected::from_run(&previous));
        let started = event(SyncEventKind::PhaseStarted, SyncPhase::Accounts, 0, 0);
        tracker.observe(&started);
        assert_eq!(
            tracker.describe(&started),
            "accounts started (~1000 expected)"
        );
        let progress = event(SyncEventKind::Progress, SyncPhase::Accounts, 200, 2);
        tracker.observe(&progress);
        assert_eq!(
            tracker.describe(&progress),
            "accounts 200 listed of ~1000 (100/s, ETA 8s)"
        );
        // The push phase expects nothing: a rate but no ETA.
        let push = event(SyncEventKind::PhaseStarted, SyncPhase::Push, 0, 3);
        tracker.observe(&push);
        let pushed = event(SyncEventKind::Progress, SyncPhase::Push, 10, 5);
        tracker.observe(&pushed);
        assert_eq!(tracker.describe(&pushed), "push 10 listed (5/s)");
    }

    #[test]
    fn a_watch_begun_mid_phase_shows_counts_without_a_rate() {
        let mut tracker = Tracker::new(Expected::default());
        let progress = event(SyncEventKind::Progress, SyncPhase::Resources, 42, 9);
        tracker.observe(&progress);
        assert_eq!(tracker.describe(&progress), "resources 42 listed");
        assert_eq!(short_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(short_duration(Duration::from_secs(7800)), "2h10m");
    }
}
