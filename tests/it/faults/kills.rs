//! kill -9 at random points of a large sync (issue 13, item 12). The remote has ~5,000 roles
//! and ~50,000 memberships, 20 of its groups in push mode with grants and revocations to push.
//! A sync worker (a real `oblique serve`) is killed with SIGKILL at a random point of a run's
//! listing, merge or push; a new one is started on the same database and takes the run over
//! once its lease has expired (the test talks to another `serve`, which is never killed).
//!
//! After each kill: the run cut short fails for its lease and a new one is queued; unless its
//! merge had committed, the tables are as they were before it. After the last: the run left is
//! taken over, the next sync finds nothing to change, no run is left RUNNING, no merge was
//! audited twice and no push audited as drift, each decided remote change is audited exactly
//! once (`push.add` / `push.remove`), Oblique's accounts, attributes, resources and access
//! equal, table to table, what a clean sync brings into a fresh database, and each push-mode
//! group on the remote has exactly the members decided.
//!
//! `OBLIQUE_KILLS` sets the number of kills (default 3, one per phase; the soak:
//! `OBLIQUE_KILLS=20 cargo test --test it faults::kills -- --nocapture`), and
//! `OBLIQUE_KILL_SEED` replays the random choices of a seed the test printed (kill targets and
//! delays, remote changes, decisions); where a kill lands still depends on timing.

mod audit;
pub(super) mod big_remote;
mod decisions;
mod killing;
mod site;
mod tables;

use std::collections::BTreeSet;
use std::time::Instant;

use oblique::pb::{self, SyncRunState};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::harness::get_run;
use crate::harness::remote::RemoteRoles;
use decisions::PushGroups;
use killing::{Kill, Phase, Windows, kill_once};
use site::Site;
use tables::Tables;

/// The kills aim at each phase in turn.
const AIMS: [Phase; 3] = [Phase::Listing, Phase::Merge, Phase::Push];

/// Kills that find the run already ended are not counted; past this many the windows are wrong.
const MAX_MISSES: usize = 10;

fn settings() -> (usize, u64) {
    let kills = std::env::var("OBLIQUE_KILLS").map_or(3, |n| n.parse().expect("OBLIQUE_KILLS"));
    let seed = std::env::var("OBLIQUE_KILL_SEED").map_or_else(
        |_| rand::random(),
        |seed| seed.parse().expect("OBLIQUE_KILL_SEED"),
    );
    (kills, seed)
}

#[tokio::test]
async fn killed_at_random_points_of_a_large_sync_it_ends_as_a_clean_sync_and_pushes_as_decided() {
    let began = Instant::now();
    let (kills, seed) = settings();
    eprintln!("kills: {kills}; seed {seed} (OBLIQUE_KILL_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let roles = RemoteRoles::new().await;
    big_remote::create_roles(&roles, big_remote::USERS).await;
    eprintln!("remote populated in {:.1?}", began.elapsed());
    let logs = tempfile::tempdir().expect("tempdir");
    let mut site = Site::new("killed", logs.path(), 0).await;
    let integration = site
        .clients
        .integrations
        .clone()
        .create_integration(roles.create_request("big").await)
        .await
        .expect("create")
        .into_inner()
        .id;

    let mut windows = Windows::new();
    let mut dead = BTreeSet::new();
    let mut done: Vec<Kill> = Vec::new();
    let (mut misses, mut churned) = (0, 0);
    let mut push: Option<PushGroups> = None;
    while done.len() < kills {
        let aim = AIMS[done.len() % AIMS.len()];
        if aim == Phase::Push {
            let push = match &mut push {
                Some(push) => push,
                None => {
                    // Push mode needs the groups, which need a sync that got to its end.
                    let mut worker = site.start_worker().await;
                    site.settle(&mut worker, &integration).await;
                    assert!(worker.terminate().await.success(), "{}", worker.log_text());
                    push.insert(PushGroups::adopt(&site.clients, &site.url, &roles).await)
                }
            };
            let changes = push.decide(&site.clients, &mut rng).await;
            windows.expect_push(changes);
            eprintln!("{changes} grants and revocations to push");
        } else if !done.is_empty() {
            // The initial sync has all to do; later ones get remote changes to merge.
            big_remote::churn(&roles, churned, &mut rng).await;
            churned += 1;
        }
        let number = done.len() + misses + 1;
        match kill_once(
            &mut site,
            &integration,
            aim,
            &mut windows,
            &mut rng,
            &mut dead,
        )
        .await
        {
            Some(kill) => {
                eprintln!(
                    "kill {number}: aimed at the {:?}, landed in the {:?} ({:.2?} after the aimed \
                     event){}; the new worker ran the run {:.1?} after its start; the run failed \
                     and was queued again {:.1?} after the kill",
                    kill.aimed,
                    kill.landed,
                    kill.delay,
                    match kill.nothing_applied {
                        true => ", tables as before the run",
                        false => "",
                    },
                    kill.claimed_after,
                    kill.reaped_after
                );
                done.push(kill);
            }
            None => {
                misses += 1;
                assert!(
                    misses <= MAX_MISSES,
                    "{misses} kills came after the run ended"
                );
            }
        }
    }

    // The run the last kill left is taken over and ends; then one more sync, which must find
    // nothing left to change.
    let recovering = Instant::now();
    let mut worker = site.start_worker().await;
    site.settle(&mut worker, &integration).await;
    eprintln!(
        "after the last kill, a new worker got the integration synced in {:.1?}",
        recovering.elapsed()
    );
    let last = site.trigger(&integration).await;
    site.settle(&mut worker, &integration).await;
    let last = get_run(&site.clients, &last.id).await.expect("GetSyncRun");
    assert_eq!(last.state(), SyncRunState::Succeeded, "{last:?}");
    let runs = site.runs(&integration).await;
    print_runs(&runs);
    assert_nothing_left_to_change(&last);
    assert_runs_ended(&runs, &dead);
    let merges = audit::assert_merges_audited_once_and_no_drift(&site.clients, &integration).await;
    if let Some(push) = &push {
        audit::assert_each_push_audited_once(&site.clients, &integration, &push.expected).await;
    }
    assert!(worker.terminate().await.success(), "{}", worker.log_text());
    assert!(
        site.api.terminate().await.success(),
        "{}",
        site.api.log_text()
    );

    // A clean sync of the same remote into a fresh database, with no kills.
    let mut clean = Site::new("clean", logs.path(), 0).await;
    let created = clean
        .clients
        .integrations
        .clone()
        .create_integration(roles.create_request("big").await)
        .await
        .expect("create")
        .into_inner();
    let mut worker = clean.start_worker().await;
    let initial = clean.settle(&mut worker, &created.id).await;
    assert_eq!(initial.trigger(), pb::SyncTrigger::Created, "{initial:?}");
    let compared = Tables::read(&site.url).await.assert_same(
        &Tables::read(&clean.url).await,
        "after the kills, Oblique's tables differ from a clean sync's",
    );

    let pushed = match &push {
        Some(push) => {
            assert_eq!(
                big_remote::members(&roles, &push.names()).await,
                push.desired(),
                "the push-mode groups' members on the remote"
            );
            push.expected.len()
        }
        None => 0,
    };
    let landed = |phase| done.iter().filter(|k| k.landed == phase).count();
    eprintln!(
        "{} kills: {} in the listing, {} in the merge, {} in the push ({misses} more came after \
         the run had ended); tables equal to a clean sync's (rows): {compared:?}; {pushed} \
         decided remote changes made; {merges} merges audited once each, no drift; {:.1?} in all",
        done.len(),
        landed(Phase::Listing),
        landed(Phase::Merge),
        landed(Phase::Push),
        began.elapsed()
    );
}

/// One line per run, oldest first: how long it ran, how it ended, what it pushed.
fn print_runs(runs: &[pb::SyncRun]) {
    let seconds = |at: &Option<prost_types::Timestamp>| {
        at.as_ref()
            .map_or(0.0, |t| t.seconds as f64 + f64::from(t.nanos) / 1e9)
    };
    let first = runs.last().map_or(0.0, |run| seconds(&run.created_at));
    for run in runs.iter().rev() {
        let push = run.stats.as_ref().and_then(|s| s.push).unwrap_or_default();
        eprintln!(
            "  run {} {:?}: queued at {:.1}s, ran {:.1}s to {:.1}s, {:?}, pushed +{} -{} {}",
            &run.id[24..],
            run.trigger(),
            seconds(&run.created_at) - first,
            seconds(&run.started_at) - first,
            seconds(&run.finished_at) - first,
            run.state(),
            push.created,
            push.deleted,
            run.error
        );
    }
}

/// The sync after everything was taken over found the remote as the last one left it.
fn assert_nothing_left_to_change(run: &pb::SyncRun) {
    let stats = run.stats.unwrap_or_default();
    let counts = [
        ("accounts", stats.accounts),
        ("attributes", stats.attributes),
        ("resources", stats.resources),
        ("access", stats.access),
        ("push", stats.push),
    ];
    for (kind, counts) in counts {
        let counts = counts.unwrap_or_default();
        assert_eq!(
            (counts.created, counts.updated, counts.deleted),
            (0, 0, 0),
            "the last sync changed {kind}: {run:?}"
        );
    }
    assert_eq!(stats.errors, 0, "{run:?}");
}

/// No run is left queued or running; every failed run is one a kill cut short, failed for its
/// lease.
fn assert_runs_ended(runs: &[pb::SyncRun], dead: &BTreeSet<String>) {
    for run in runs {
        match run.state() {
            SyncRunState::Succeeded => {}
            SyncRunState::Failed if dead.contains(&run.id) && run.error.contains("lease") => {}
            _ => panic!("a run that is not as it should be: {run:?}"),
        }
    }
    let failed = runs
        .iter()
        .filter(|r| r.state() == SyncRunState::Failed)
        .count();
    assert_eq!(failed, dead.len(), "every killed run failed");
}
