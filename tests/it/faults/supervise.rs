//! Defect 1: a panic in a sync worker. The run ends FAILED with the panic's message, its lease
//! keeper dies with it, and the same worker slot goes on running the next runs.

use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use oblique::engine::EngineConfig;
use oblique::pb::{self, SyncRunState as State};

use super::faulty_remote::{Fault, FaultyRemote, INJECTED_PANIC};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually, test_engine, wait_for_run};

#[derive(diesel::QueryableByName)]
struct Claim {
    #[diesel(sql_type = Nullable<Text>)]
    claimed_by: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    lease_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

async fn claim_of(app: &TestApp, run_id: &str) -> Claim {
    diesel::sql_query(format!(
        "SELECT claimed_by, lease_expires_at FROM sync_runs WHERE id = '{run_id}'"
    ))
    .get_result(&mut app.conn().await)
    .await
    .expect("reading the run's claim")
}

/// Lease keepers connect outside the pool under this application name.
async fn lease_keepers(app: &TestApp) -> i64 {
    let sql = "SELECT count(*) AS count FROM pg_stat_activity
               WHERE datname = current_database() AND application_name = 'oblique-lease'";
    let counted: Count = diesel::sql_query(sql)
        .get_result(&mut app.conn().await)
        .await
        .expect("counting lease keepers");
    counted.count
}

async fn create(app: &TestApp, roles: &RemoteRoles, name: &str) -> (pb::Integration, String) {
    let request = roles.create_request(name).await;
    let created = app
        .admin
        .integrations
        .clone()
        .create_integration(request)
        .await;
    let created = created.expect("create").into_inner();
    let initial = created.last_sync_run.clone().expect("initial run").id;
    (created, initial)
}

#[tokio::test]
async fn a_panicking_run_fails_with_its_message_and_the_worker_goes_on() {
    // The app's own engine has no workers: the one below, with a single slot, runs everything.
    let app = TestApp::spawn_without_sync().await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN").await;
    let (faulty, faulty_initial) = create(&app, &roles, "faulty").await;
    let (_, healthy_initial) = create(&app, &roles, "healthy").await;
    let remote = FaultyRemote::new();
    remote.arm(&faulty.id, Fault::Panic);
    let one_slot = EngineConfig {
        workers: 1,
        ..test_engine()
    };
    let _engine = remote.start_engine(&app, one_slot);

    let panicked = wait_for_run(&app.viewer, &faulty_initial).await;
    assert_eq!(panicked.state(), State::Failed, "{panicked:?}");
    assert!(panicked.error.contains("panicked"), "{}", panicked.error);
    assert!(
        panicked.error.contains(INJECTED_PANIC),
        "{}",
        panicked.error
    );

    // The same slot runs the other integration's run, and the next run of the one that panicked.
    let healthy = wait_for_run(&app.viewer, &healthy_initial).await;
    assert_eq!(healthy.state(), State::Succeeded, "{healthy:?}");
    let request = pb::TriggerSyncRequest {
        integration_id: faulty.id.clone(),
        ..Default::default()
    };
    let next = app.service.sync.clone().trigger_sync(request).await;
    let next = wait_for_run(&app.viewer, &next.expect("trigger").into_inner().id).await;
    assert_eq!(next.state(), State::Succeeded, "{next:?}");
    let slot = claim_of(&app, &faulty_initial).await.claimed_by;
    assert!(slot.is_some());
    for run in [&healthy_initial, &next.id] {
        assert_eq!(claim_of(&app, run).await.claimed_by, slot);
    }

    // No keeper is left renewing the panicked run's lease (nor any other's).
    assert_eq!(claim_of(&app, &faulty_initial).await.lease_expires_at, None);
    eventually("every lease keeper to be gone", || async {
        (lease_keepers(&app).await == 0).then_some(())
    })
    .await;
    let after = wait_for_run(&app.viewer, &faulty_initial).await;
    assert_eq!(after, panicked, "the panicked run changed after it ended");
}
