//! The run lifecycle's statements (`oblique::db::runs`) against a real database: every ending
//! goes through one finish that only ends a run still active (and still the worker's, for a
//! worker), writes one FINISHED event, and commits with the merge on the staging connection.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::db::models::SyncRunRow;
use oblique::db::run_events::{self, EventKind};
use oblique::db::runs::{self, EndedBy, Ending, Finish, in_merge};
use oblique::db::schema::audit_events;
use oblique::model::run_stats::RunStats;
use oblique::model::{Principal, RunState, RunTrigger};
use uuid::Uuid;

use crate::harness::{TestApp, calls};

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// An app whose engine runs nothing, with one integration whose initial run `worker` claimed.
async fn claimed_run(worker: &str) -> (TestApp, SyncRunRow) {
    let app = TestApp::spawn_without_sync().await;
    calls::create(&app, "lifecycle").await;
    let run = runs::claim(&mut *app.conn().await, worker, LEASE)
        .await
        .expect("claim")
        .expect("the initial run is queued");
    assert_eq!(run.state, RunState::Running);
    assert_eq!(run.trigger, RunTrigger::Created);
    assert_eq!(run.claimed_by.as_deref(), Some(worker));
    (app, run)
}

fn succeeded(run_id: Uuid, worker: &str, stats: RunStats) -> Finish<'_> {
    Finish {
        run_id,
        holder: Some(worker),
        ending: Ending::Succeeded {
            stats,
            summary: "all done".into(),
        },
        ended_by: None,
    }
}

async fn finished_events(app: &TestApp, run_id: Uuid) -> Vec<run_events::SyncEvent> {
    let events = run_events::stored_after(&mut *app.conn().await, run_id, 0)
        .await
        .expect("events");
    events
        .into_iter()
        .filter(|event| event.kind == EventKind::Finished)
        .collect()
}

async fn audit_rows(app: &TestApp, action: &str) -> i64 {
    audit_events::table
        .filter(audit_events::action.eq(action))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .expect("audit count")
}

#[tokio::test]
async fn a_run_ends_once_and_only_in_the_hands_that_hold_it() {
    let (app, run) = claimed_run("worker-a").await;
    let mut conn = app.conn().await;

    // Another worker (one whose lease expired, say) cannot end it.
    let stolen = runs::finish(
        &mut conn,
        &succeeded(run.id, "worker-b", RunStats::default()),
    )
    .await
    .expect("finish");
    assert!(stolen.is_none());
    let unchanged = runs::find(&mut conn, run.id).await.unwrap().unwrap();
    assert_eq!(unchanged.state, RunState::Running);

    // A person cancels it, and the cancellation is audited by the statement that ends it.
    let admin = Principal {
        name: "alice".into(),
        role: oblique::model::Role::Admin,
    };
    let cancel = Finish {
        run_id: run.id,
        holder: None,
        ending: Ending::Cancelled {
            reason: "cancelled by alice".into(),
        },
        ended_by: Some(EndedBy {
            actor: &admin,
            action: oblique::model::AuditAction::SyncCancel,
            details: serde_json::json!({"run_id": run.id}),
        }),
    };
    let cancelled = runs::finish(&mut conn, &cancel).await.unwrap().unwrap();
    assert_eq!(cancelled.state, RunState::Cancelled);
    assert_eq!(cancelled.error.as_deref(), Some("cancelled by alice"));
    assert!(cancelled.finished_at.is_some());
    assert_eq!(cancelled.lease_expires_at, None);
    assert_eq!(audit_rows(&app, "sync.cancel").await, 1);

    // The worker that held it finds it gone; cancelling again ends nothing and audits nothing.
    let late = runs::finish(
        &mut conn,
        &succeeded(run.id, "worker-a", RunStats::default()),
    )
    .await
    .unwrap();
    assert!(late.is_none());
    assert!(runs::finish(&mut conn, &cancel).await.unwrap().is_none());
    assert_eq!(audit_rows(&app, "sync.cancel").await, 1);
    assert!(
        !runs::heartbeat(&mut conn, run.id, "worker-a", LEASE)
            .await
            .unwrap()
    );

    let finished = finished_events(&app, run.id).await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0].state, RunState::Cancelled);
    assert_eq!(finished[0].message, "cancelled by alice");
}

#[tokio::test]
async fn the_merge_transaction_ends_the_run_with_its_changes_or_not_at_all() {
    let (app, run) = claimed_run("worker-a").await;
    let stats = RunStats {
        errors: 3,
        ..RunStats::default()
    };
    let (mut client, connection) = oblique::db::connect::connect(&app.database_url)
        .await
        .expect("staging connection");
    tokio::spawn(connection);

    // Rolled back (a dry run, the mass-deletion guard): the run is still running, no event.
    let tx = client.transaction().await.unwrap();
    assert!(
        in_merge::finish_in(&tx, &succeeded(run.id, "worker-a", stats))
            .await
            .unwrap()
    );
    tx.rollback().await.unwrap();
    let mut conn = app.conn().await;
    let still = runs::find(&mut conn, run.id).await.unwrap().unwrap();
    assert_eq!(still.state, RunState::Running);
    assert!(finished_events(&app, run.id).await.is_empty());

    // Committed: ended exactly as the diesel finish ends a run.
    let tx = client.transaction().await.unwrap();
    assert!(
        in_merge::finish_in(&tx, &succeeded(run.id, "worker-a", stats))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let ended = runs::find(&mut conn, run.id).await.unwrap().unwrap();
    assert_eq!(ended.state, RunState::Succeeded);
    assert_eq!(ended.phase, None);
    assert_eq!(ended.error, None);
    assert_eq!(
        serde_json::from_value::<RunStats>(ended.stats).unwrap(),
        stats
    );
    let finished = finished_events(&app, run.id).await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0].state, RunState::Succeeded);
    assert_eq!(finished[0].stats, Some(stats));
    assert_eq!(finished[0].message, "all done");

    // Once ended, the merge of a worker that still thinks it runs it changes nothing.
    let tx = client.transaction().await.unwrap();
    assert!(
        !in_merge::finish_in(&tx, &succeeded(run.id, "worker-a", stats))
            .await
            .unwrap()
    );
    assert!(
        !in_merge::hold_in(&tx, run.id, "worker-a", &stats)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_run_put_back_by_its_worker_is_claimed_again_from_the_start() {
    let (app, run) = claimed_run("worker-a").await;
    let mut conn = app.conn().await;
    runs::set_phase(&mut conn, run.id, oblique::model::RunPhase::Access)
        .await
        .unwrap();
    // Only the holder may put it back.
    runs::requeue(&mut conn, run.id, "worker-b").await.unwrap();
    let running = runs::find(&mut conn, run.id).await.unwrap().unwrap();
    assert_eq!(running.phase, Some(oblique::model::RunPhase::Access));

    runs::requeue(&mut conn, run.id, "worker-a").await.unwrap();
    let queued = runs::find(&mut conn, run.id).await.unwrap().unwrap();
    assert_eq!(queued.state, RunState::Queued);
    assert_eq!(
        (queued.phase, queued.claimed_by, queued.started_at),
        (None, None, None)
    );

    let again = runs::claim(&mut conn, "worker-b", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, run.id);
    assert_eq!(again.claimed_by.as_deref(), Some("worker-b"));
}
