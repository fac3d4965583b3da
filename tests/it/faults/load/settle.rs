//! After the load: waiting (bounded) for the pushes it left, a last sync of each integration,
//! and the runs of the whole test, which must all have ended and succeeded.

use std::time::{Duration, Instant, SystemTime};

use oblique::pb::{self, SyncRunState};

use super::fixture::Target;
use crate::harness::{Clients, wait_for_run};
use crate::serve_binary::{DEADLINE, Server};

/// What the engine did during and after the load.
pub struct Settled {
    /// Runs queued while the clients ran (not the final ones), newest first.
    pub runs: Vec<pb::SyncRun>,
    /// From the end of the load until every push was done and no run was left.
    pub caught_up: Duration,
}

/// Waits until the pushes are done and no run is active (bounded: the pushes the load left
/// may take a while), then syncs each integration once more; asserts that every run of the
/// test ended, and succeeded.
pub async fn settle(
    server: &mut Server,
    admin: &Clients,
    targets: &[Target],
    load: std::ops::Range<SystemTime>,
) -> Settled {
    let waiting = Instant::now();
    let deadline = waiting + DEADLINE;
    while !settled(admin, targets).await {
        server
            .tick("every push done and every run ended", deadline)
            .await;
    }
    let caught_up = waiting.elapsed();
    let mut during_load = Vec::new();
    for target in targets {
        let run = admin
            .sync
            .clone()
            .trigger_sync(pb::TriggerSyncRequest {
                integration_id: target.integration.id.clone(),
                ..Default::default()
            })
            .await
            .expect("the final sync")
            .into_inner();
        let run = wait_for_run(admin, &run.id).await;
        assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
        let runs = all_runs(admin, target).await;
        let failed: Vec<_> = runs
            .iter()
            .filter(|run| run.state() != SyncRunState::Succeeded)
            .collect();
        assert!(
            failed.is_empty(),
            "runs that did not succeed: {failed:#?}\nthe server's errors:\n{}",
            server
                .log_text()
                .lines()
                .filter(|line| line.contains("ERROR"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        during_load.extend(
            runs.into_iter()
                .filter(|run| load.contains(&time(run.created_at))),
        );
    }
    Settled {
        runs: during_load,
        caught_up,
    }
}

fn time(timestamp: Option<prost_types::Timestamp>) -> SystemTime {
    SystemTime::try_from(timestamp.expect("a timestamp")).expect("a time")
}

/// How long the run took from its start to its end.
pub fn run_time(run: &pb::SyncRun) -> Duration {
    let (started, finished) = (time(run.started_at), time(run.finished_at));
    finished.duration_since(started).unwrap_or_default()
}

/// Whether no run is queued or running and every push-mode resource is in sync.
async fn settled(admin: &Clients, targets: &[Target]) -> bool {
    for target in targets {
        if all_runs(admin, target).await.iter().any(active) {
            return false;
        }
        for resource in &target.pushed {
            let now = get_resource(admin, &resource.id).await;
            if now.propagation_status() != pb::PropagationStatus::InSync {
                return false;
            }
        }
    }
    true
}

fn active(run: &pb::SyncRun) -> bool {
    matches!(run.state(), SyncRunState::Queued | SyncRunState::Running)
}

/// Every run of the target's integration, newest first.
async fn all_runs(admin: &Clients, target: &Target) -> Vec<pb::SyncRun> {
    let mut runs = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = admin
            .sync
            .clone()
            .list_sync_runs(pb::ListSyncRunsRequest {
                integration_id: target.integration.id.clone(),
                page_size: 1000,
                page_token,
            })
            .await
            .expect("ListSyncRuns")
            .into_inner();
        runs.extend(page.runs);
        if page.next_page_token.is_empty() {
            return runs;
        }
        page_token = page.next_page_token;
    }
}

async fn get_resource(admin: &Clients, id: &str) -> pb::Resource {
    admin
        .integrations
        .clone()
        .get_resource(pb::GetResourceRequest { id: id.into() })
        .await
        .expect("GetResource")
        .into_inner()
}
