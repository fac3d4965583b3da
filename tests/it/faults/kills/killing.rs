//! One kill: a new sync worker takes the integration's run, the test follows the run's events
//! to the aimed point (a random number of objects into the listing, the end of the listing, the
//! start of the push), waits a random delay and kills the worker with SIGKILL; the run must
//! then fail once its lease expires, and be queued again.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use oblique::pb::{self, SyncEventKind, SyncPhase, SyncRunState};
use rand::Rng;
use rand::rngs::StdRng;

use super::site::{Follower, SYNC_DEADLINE, Site};
use super::tables::Tables;
use super::{audit, big_remote};
use crate::harness::get_run;
use crate::serve_binary::{DEADLINE, Server};

/// Where in a run a kill is aimed, and where it landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Listing,
    Merge,
    Push,
}

pub struct Kill {
    pub aimed: Phase,
    pub landed: Phase,
    /// After the aimed event.
    pub delay: Duration,
    /// From the new worker's start until it ran the run.
    pub claimed_after: Duration,
    /// From the kill until the run was failed and, unless given up, queued again.
    pub reaped_after: Duration,
    /// The tables were found as they were before the run (its merge had not committed).
    pub nothing_applied: bool,
}

/// How long after the aimed event a kill may come: as long as the last merge or push seen took
/// (halved after a kill that came after the run's end). Until a push is seen, its length is
/// guessed from its number of remote changes, each a connection of its own to the remote.
pub struct Windows {
    merge: Duration,
    push: Duration,
    push_seen: bool,
}

const PUSH_GUESS: Duration = Duration::from_millis(100);

impl Windows {
    pub fn new() -> Windows {
        Windows {
            merge: Duration::from_secs(1),
            push: Duration::ZERO,
            push_seen: false,
        }
    }

    /// A push of `changes` remote changes is to come.
    pub fn expect_push(&mut self, changes: usize) {
        if !self.push_seen {
            self.push = PUSH_GUESS * u32::try_from(changes).expect("a few hundred");
        }
    }

    fn delay(&self, aim: Phase, rng: &mut StdRng) -> Duration {
        let window = match aim {
            // Aimed by progress events already: a little jitter between them.
            Phase::Listing => Duration::from_millis(50),
            Phase::Merge => self.merge,
            Phase::Push => self.push,
        };
        window.mul_f64(rng.gen_range(0.0..1.0))
    }

    /// Learns how long the merge and the push took from the events of a run, as they arrived.
    fn learn(&mut self, events: &[(Instant, pb::SyncEvent)]) {
        let arrival = |kind: SyncEventKind, phase: Option<SyncPhase>| {
            events
                .iter()
                .find(|(_, e)| e.kind() == kind && phase.is_none_or(|p| e.phase() == p))
                .map(|(at, _)| *at)
        };
        let listed = arrival(SyncEventKind::PhaseFinished, Some(SyncPhase::Access));
        let pushing = arrival(SyncEventKind::PhaseStarted, Some(SyncPhase::Push));
        let finished = arrival(SyncEventKind::Finished, None);
        if let (Some(listed), Some(merged)) = (listed, pushing.or(finished)) {
            self.merge = merged - listed;
        }
        if let (Some(pushing), Some(finished)) = (pushing, finished) {
            self.push = finished - pushing;
            self.push_seen = true;
        }
    }

    /// A kill `delay` after the aimed event came after the run's end.
    fn too_late(&mut self, aim: Phase, delay: Duration) {
        match aim {
            Phase::Listing => {}
            Phase::Merge => self.merge = self.merge.min(delay / 2),
            Phase::Push => {
                self.push = self.push.min(delay / 2);
                self.push_seen = true;
            }
        }
    }
}

/// Starts a worker, follows the run it takes to the aimed point, waits a random delay and kills
/// the worker. Returns the kill once every run it cut short has failed, or `None` when the kill
/// came after the run had succeeded.
pub async fn kill_once(
    site: &mut Site,
    integration: &str,
    aim: Phase,
    windows: &mut Windows,
    rng: &mut StdRng,
    dead: &mut BTreeSet<String>,
) -> Option<Kill> {
    // No worker runs now: nothing changes the tables until the new one does.
    let before = Tables::read(&site.url).await;
    let started = Instant::now();
    let mut worker = site.start_worker().await;
    let run = next_run(site, &mut worker, integration, dead).await;
    let mut follower = site.follow(&run).await;
    let mut seen = Vec::new();
    let claimed_after = aimed_point(&mut follower, &mut seen, aim, rng, started).await;
    let delay = windows.delay(aim, rng);
    tokio::time::sleep(delay).await;
    let killed = Instant::now();
    worker.kill();

    seen.extend(follower.arrived());
    windows.learn(&seen);
    let running: Vec<pb::SyncRun> = site
        .runs(integration)
        .await
        .into_iter()
        .filter(|r| r.state() == SyncRunState::Running)
        .collect();
    if running.is_empty() {
        let ended = get_run(&site.clients, &run).await.expect("GetSyncRun");
        assert_eq!(ended.state(), SyncRunState::Succeeded, "{ended:?}");
        windows.too_late(aim, delay);
        eprintln!(
            "a kill aimed at the {aim:?} came {delay:.2?} after the aimed event, after the run \
             ended; now at most {:.2?} into a merge, {:.2?} into a push",
            windows.merge, windows.push
        );
        return None;
    }
    let deadline = Instant::now() + DEADLINE;
    for cut in &running {
        dead.insert(cut.id.clone());
        loop {
            let now = get_run(&site.clients, &cut.id).await.expect("GetSyncRun");
            if now.state() != SyncRunState::Running {
                assert_eq!(now.state(), SyncRunState::Failed, "{now:?}");
                assert!(now.error.contains("lease"), "{now:?}");
                break;
            }
            site.api
                .tick(
                    "the killed worker's run to fail once its lease expired",
                    deadline,
                )
                .await;
        }
    }
    let reaped_after = killed.elapsed();
    let landed = match running.iter().any(|r| r.id == run) {
        true => landed(&seen),
        // The run ended; the worker had taken another, which the kill cut short.
        false => landed(&replay(site, &running[0].id).await),
    };
    // Before its push, a run changes the tables only in its merge's transaction, which audits
    // the merge too: unless that committed, the kill left them as they were.
    let nothing_applied = running.iter().any(|r| r.id == run)
        && landed != Phase::Push
        && !audit::merge_audited(&site.clients, integration, &run).await;
    if nothing_applied {
        Tables::read(&site.url).await.assert_same(
            &before,
            &format!("a kill in the {landed:?} changed the tables"),
        );
    }
    Some(Kill {
        aimed: aim,
        landed,
        delay,
        claimed_after,
        reaped_after,
        nothing_applied,
    })
}

/// The run a new worker is to take: the one queued or running, once the dead ones are failed;
/// or, when none is (one given up, or the last one succeeded), a new manual one.
async fn next_run(
    site: &Site,
    worker: &mut Server,
    integration: &str,
    dead: &BTreeSet<String>,
) -> String {
    let deadline = Instant::now() + SYNC_DEADLINE;
    loop {
        let newest = site.runs(integration).await.remove(0);
        let active = matches!(newest.state(), SyncRunState::Queued | SyncRunState::Running);
        match (active, dead.contains(&newest.id)) {
            (true, false) => return newest.id,
            (true, true) => worker.tick("the killed run to be failed", deadline).await,
            (false, _) => return site.trigger(integration).await.id,
        }
    }
}

/// Follows the run until the point the kill is aimed at: for the listing, a random number of
/// objects listed; for the merge, the listing's end; for the push, its start. Returns when
/// (after `started`) the run began running.
async fn aimed_point(
    follower: &mut Follower,
    seen: &mut Vec<(Instant, pb::SyncEvent)>,
    aim: Phase,
    rng: &mut StdRng,
    started: Instant,
) -> Duration {
    // Well short of the end: progress events are written beside the listing and may come
    // after it ended.
    let target = rng.gen_range(0..big_remote::LISTED * 4 / 5);
    let (mut listed_before, mut listing) = (0, false);
    let mut claimed = None;
    while let Some((at, event)) = follower.next().await {
        seen.push((at, event.clone()));
        let (kind, phase) = (event.kind(), event.phase());
        if kind == SyncEventKind::StateChanged && event.state() == SyncRunState::Running {
            claimed.get_or_insert(at - started);
        }
        let reached = match aim {
            Phase::Listing => match kind {
                SyncEventKind::PhaseStarted if phase != SyncPhase::Push => {
                    listing = true;
                    listed_before >= target
                }
                SyncEventKind::Progress => listing && listed_before + event.processed >= target,
                SyncEventKind::PhaseFinished if phase != SyncPhase::Push => {
                    listed_before += event.processed;
                    false
                }
                _ => false,
            },
            Phase::Merge => kind == SyncEventKind::PhaseFinished && phase == SyncPhase::Access,
            Phase::Push => kind == SyncEventKind::PhaseStarted && phase == SyncPhase::Push,
        };
        if reached {
            break;
        }
    }
    claimed.unwrap_or_else(|| started.elapsed())
}

/// Where a run cut short was, by the events it left.
fn landed(events: &[(Instant, pb::SyncEvent)]) -> Phase {
    let has = |kind, phase| {
        events
            .iter()
            .any(|(_, e)| e.kind() == kind && e.phase() == phase)
    };
    if has(SyncEventKind::PhaseStarted, SyncPhase::Push) {
        Phase::Push
    } else if has(SyncEventKind::PhaseFinished, SyncPhase::Access) {
        Phase::Merge
    } else {
        Phase::Listing
    }
}

/// A run's events, to its end.
async fn replay(site: &Site, run_id: &str) -> Vec<(Instant, pb::SyncEvent)> {
    let mut follower = site.follow(run_id).await;
    let mut events = Vec::new();
    while let Some(event) = follower.next().await {
        events.push(event);
    }
    events
}
