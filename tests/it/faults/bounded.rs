//! Defect 8: bounded work. A run that outlives its deadline fails, and a run whose worker keeps
//! dying is given up after three lease expiries.

use diesel_async::SimpleAsyncConnection;
use oblique::engine::EngineConfig;
use oblique::pb::{self, SyncRunState as State, SyncTrigger};

use super::faulty_remote::{Fault, FaultyRemote};
use crate::harness::calls::runs;
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually, test_engine, wait_for_run};

#[tokio::test]
async fn a_run_past_its_deadline_fails_and_the_next_one_runs() {
    let app = TestApp::spawn_without_sync().await;
    let roles = RemoteRoles::new().await;
    let request = roles.create_request("stalled").await;
    let created = app
        .admin
        .integrations
        .clone()
        .create_integration(request)
        .await;
    let created = created.expect("create").into_inner();
    let remote = FaultyRemote::new();
    remote.arm(&created.id, Fault::Hang);
    let deadline = EngineConfig {
        workers: 1,
        run_timeout: std::time::Duration::from_secs(5),
        ..test_engine()
    };
    let _engine = remote.start_engine(&app, deadline);

    let initial = created.last_sync_run.expect("initial run").id;
    let stalled = wait_for_run(&app.viewer, &initial).await;
    assert_eq!(stalled.state(), State::Failed, "{stalled:?}");
    assert!(
        stalled.error.contains("run exceeded its deadline of 5s"),
        "{}",
        stalled.error
    );

    let request = pb::TriggerSyncRequest {
        integration_id: created.id.clone(),
        ..Default::default()
    };
    let next = app.service.sync.clone().trigger_sync(request).await;
    let next = wait_for_run(&app.viewer, &next.expect("trigger").into_inner().id).await;
    assert_eq!(next.state(), State::Succeeded, "{next:?}");
}

/// As if the worker running `run_id` had died: running, claimed, its lease passed.
async fn kill_worker_of(app: &TestApp, run_id: &str) {
    let sql = format!(
        "UPDATE sync_runs SET state = 'running', claimed_by = 'dead-worker/0', started_at = now(),
             lease_expires_at = now() - interval '1 second' WHERE id = '{run_id}'"
    );
    app.conn()
        .await
        .batch_execute(&sql)
        .await
        .expect("killing the worker");
}

#[tokio::test]
async fn a_run_whose_worker_dies_three_times_is_given_up() {
    // The scheduler reaps; no worker ever runs anything: each claim is the test's.
    let reaper_only = EngineConfig {
        workers: 0,
        ..test_engine()
    };
    let app = TestApp::spawn_configured(None, reaper_only).await;
    let roles = RemoteRoles::new().await;
    let request = roles.create_request("crashing").await;
    let created = app
        .admin
        .integrations
        .clone()
        .create_integration(request)
        .await;
    let created = created.expect("create").into_inner();

    let mut run_id = created.last_sync_run.expect("initial run").id;
    for death in 1..=2 {
        kill_worker_of(&app, &run_id).await;
        let reaped = wait_for_run(&app.viewer, &run_id).await;
        assert_eq!(reaped.state(), State::Failed, "{reaped:?}");
        assert!(reaped.error.contains("lease expired"), "{}", reaped.error);
        let retry = eventually("the retry", || async {
            let newest = runs(&app, &created.id).await.into_iter().next()?;
            (newest.id != run_id).then_some(newest)
        })
        .await;
        assert_eq!(
            retry.trigger(),
            SyncTrigger::Scheduled,
            "after death {death}"
        );
        assert_eq!(retry.state(), State::Queued);
        run_id = retry.id;
    }

    kill_worker_of(&app, &run_id).await;
    let given_up = wait_for_run(&app.viewer, &run_id).await;
    assert_eq!(given_up.state(), State::Failed, "{given_up:?}");
    assert!(
        given_up.error.contains("its worker died 3 times"),
        "{}",
        given_up.error
    );
    // The retry would have been queued with the failure, in its transaction.
    let listed = runs(&app, &created.id).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0].id, run_id);

    // Nor do pushes waiting bring it back before its next scheduled run: a decision waits for
    // the integration's push, and another integration due meanwhile shows that the scheduler
    // has been round since.
    app.conn()
        .await
        .batch_execute(&format!(
            "WITH r AS (INSERT INTO resources (id, integration_id, external_id, resource_type,
                                               name, sync_mode)
                        VALUES (uuid_generate_v7(), '{id}', 'readers', 'role', 'readers', 'push')
                        RETURNING id),
                  u AS (INSERT INTO users (id, username) VALUES (uuid_generate_v7(), 'waiting')
                        RETURNING id)
             INSERT INTO propagations (resource_id, user_id, integration_id)
             SELECT r.id, u.id, '{id}' FROM r, u",
            id = created.id
        ))
        .await
        .expect("a push waiting");
    let mut request = roles.create_request("due").await;
    request.sync_interval_seconds = 1;
    let due = app
        .admin
        .integrations
        .clone()
        .create_integration(request)
        .await;
    let due = due.expect("create").into_inner();
    let initial = due.last_sync_run.expect("initial run").id;
    app.conn()
        .await
        .batch_execute(&format!(
            "UPDATE sync_runs SET state = 'succeeded', started_at = now(), finished_at = now()
             WHERE id = '{initial}'"
        ))
        .await
        .expect("ending the other's initial run");
    eventually(
        "the scheduler to queue the other integration's run",
        || async {
            let newest = runs(&app, &due.id).await.into_iter().next()?;
            (newest.id != initial).then_some(())
        },
    )
    .await;
    let listed = runs(&app, &created.id).await;
    assert_eq!(
        listed.len(),
        3,
        "given up, but queued again for a push: {listed:?}"
    );
}
