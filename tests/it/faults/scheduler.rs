//! Defect 10: the scheduler's jobs are independent (a lock wait while queueing one integration's
//! run holds up neither reaping nor the other integrations), and only real syncs (not dry runs)
//! count for the schedule.

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use oblique::engine::EngineConfig;
use oblique::pb::{self, SyncRunState as State, SyncTrigger};

use crate::harness::calls::runs;
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually, test_engine, wait_for_run};

/// The server's own scheduler on test timings, and no workers: runs stay where the test puts
/// them.
async fn scheduler_only() -> TestApp {
    let engine = EngineConfig {
        workers: 0,
        ..test_engine()
    };
    TestApp::spawn_configured(None, engine).await
}

async fn create(app: &TestApp, roles: &RemoteRoles, name: &str, interval: i32) -> pb::Integration {
    let mut request = roles.create_request(name).await;
    request.sync_interval_seconds = interval;
    let created = app
        .admin
        .integrations
        .clone()
        .create_integration(request)
        .await;
    created.expect("create").into_inner()
}

async fn sql(app: &TestApp, sql: &str) {
    app.conn().await.batch_execute(sql).await.expect(sql);
}

/// Ends the integration's initial (queued) run as a real sync that succeeded `ago`.
async fn synced_ago(app: &TestApp, integration: &pb::Integration, ago: &str) {
    let run = integration.last_sync_run.as_ref().expect("initial run");
    sql(
        app,
        &format!(
            "UPDATE sync_runs SET state = 'succeeded', created_at = now() - interval '{ago}',
                 started_at = now() - interval '{ago}', finished_at = now() - interval '{ago}'
             WHERE id = '{}'",
            run.id
        ),
    )
    .await;
}

#[tokio::test]
async fn a_lock_wait_while_queueing_one_run_holds_up_neither_reaping_nor_the_others() {
    let app = scheduler_only().await;
    let roles = RemoteRoles::new().await;
    let blocked = create(&app, &roles, "blocked", 1).await;
    synced_ago(&app, &blocked, "1 hour").await;

    // Another transaction queues a run of `blocked` and does not commit: the scheduler's insert
    // of a run for it waits on that row.
    let mut holder = oblique::db::connect::establish(&app.database_url)
        .await
        .expect("connecting");
    holder.batch_execute("BEGIN").await.expect("begin");
    let insert = format!(
        "INSERT INTO sync_runs (id, integration_id, trigger, requested_by)
         VALUES (uuid_generate_v7(), '{}', 'manual', 'test')",
        blocked.id
    );
    holder.batch_execute(&insert).await.expect("holding a run");
    eventually("the scheduler to wait on the held run", || async {
        let waiting = "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
                       AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO sync_runs%'";
        let query = diesel::sql_query(waiting);
        let rows = query.execute(&mut app.conn().await).await;
        let rows = rows.expect("reading pg_stat_activity");
        (rows > 0).then_some(())
    })
    .await;

    // Meanwhile a worker dies with a run of another integration: the reaper still ends it and
    // queues its retry, and a third integration still gets its scheduled run.
    let orphaned = create(&app, &roles, "orphaned", 3600).await;
    let orphan = orphaned.last_sync_run.clone().expect("initial run").id;
    sql(
        &app,
        &format!(
            "UPDATE sync_runs SET state = 'running', claimed_by = 'dead-worker/0',
                 started_at = now(), lease_expires_at = now() - interval '1 second'
             WHERE id = '{orphan}'"
        ),
    )
    .await;
    let other = create(&app, &roles, "other", 1).await;
    synced_ago(&app, &other, "1 hour").await;

    let reaped = wait_for_run(&app.viewer, &orphan).await;
    assert_eq!(reaped.state(), State::Failed, "{reaped:?}");
    assert!(reaped.error.contains("lease"), "{}", reaped.error);
    eventually("a scheduled run of the other integration", || async {
        let newest = runs(&app, &other.id).await.into_iter().next()?;
        (newest.trigger() == SyncTrigger::Scheduled).then_some(())
    })
    .await;

    holder.batch_execute("ROLLBACK").await.expect("rollback");
    eventually("the blocked integration's scheduled run", || async {
        let newest = runs(&app, &blocked.id).await.into_iter().next()?;
        (newest.trigger() == SyncTrigger::Scheduled).then_some(())
    })
    .await;
}

#[tokio::test]
async fn dry_runs_do_not_push_the_scheduled_sync_back() {
    let app = scheduler_only().await;
    let roles = RemoteRoles::new().await;
    // Ten minutes between syncs; the last real one an hour ago, dry runs (one failed) since.
    let integration = create(&app, &roles, "tried", 600).await;
    synced_ago(&app, &integration, "1 hour").await;
    for (state, ago) in [
        ("succeeded", "2 minutes"),
        ("failed", "1 minute"),
        ("succeeded", "1 second"),
    ] {
        sql(
            &app,
            &format!(
                "INSERT INTO sync_runs (id, integration_id, trigger, requested_by, dry_run, state,
                     created_at, started_at, finished_at)
                 VALUES (uuid_generate_v7(), '{}', 'manual', 'test', true, '{state}',
                     now() - interval '{ago}', now() - interval '{ago}', now() - interval '{ago}')",
                integration.id
            ),
        )
        .await;
    }

    let scheduled = eventually("a scheduled run", || async {
        let listed = runs(&app, &integration.id).await;
        listed
            .into_iter()
            .find(|run| run.trigger() == SyncTrigger::Scheduled)
    })
    .await;
    assert!(!scheduled.dry_run, "{scheduled:?}");
}

/// Grant expiry failing on every tick (the server may no longer read the grants) holds up no
/// scheduled sync: it is a job of its own, not a step before the scheduling.
#[tokio::test]
async fn a_failing_grant_expiry_holds_up_no_scheduled_sync() {
    let app = scheduler_only().await;
    let roles = RemoteRoles::new().await;
    app.owner_conn()
        .await
        .batch_execute(&format!(
            "REVOKE SELECT ON grants FROM {}",
            crate::harness::servers::RUNTIME_ROLE
        ))
        .await
        .expect("taking the grants away");
    let refused = app.conn().await.batch_execute("SELECT 1 FROM grants").await;
    assert!(
        refused.is_err(),
        "grant expiry must fail for this test to mean anything"
    );

    let due = create(&app, &roles, "due", 1).await;
    synced_ago(&app, &due, "1 hour").await;
    eventually("a scheduled run while expiry fails", || async {
        let newest = runs(&app, &due.id).await.into_iter().next()?;
        (newest.trigger() == SyncTrigger::Scheduled).then_some(())
    })
    .await;
}
