//! Two `oblique serve` processes on one database. One is killed (SIGKILL) in the middle of a run:
//! the other takes the run over once its lease has expired, and the sync converges. One is
//! stopped (SIGTERM) in the middle of a run: the run goes back to the queue at once, not when
//! its lease would have expired.

use std::os::unix::fs::DirBuilderExt;
use std::time::Instant;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use oblique::pb::{self, SyncRunState};

use crate::harness::remote::RemoteRoles;
use crate::harness::servers::create_test_database;
use crate::harness::{Clients, get_run, wait_for_run};
use crate::listing_gate::ListingGate;
use crate::serve_binary::{DEADLINE, DataDir, DropDatabase, Server, oblique, wait_for_token};

async fn run_state(clients: &Clients, run_id: &str) -> pb::SyncRun {
    get_run(clients, run_id).await.expect("GetSyncRun")
}

/// A manual run of the integration; its id.
pub(crate) async fn trigger(clients: &Clients, integration_id: &str) -> String {
    clients
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: integration_id.into(),
            ..Default::default()
        })
        .await
        .expect("trigger")
        .into_inner()
        .id
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    leased: bool,
}

/// The run's state and whether it holds a lease, read from the database itself.
pub(crate) async fn stored_state(url: &str, run_id: &str) -> (String, bool) {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connecting");
    let row: Row = diesel::sql_query(format!(
        "SELECT state, lease_expires_at IS NOT NULL AS leased FROM sync_runs WHERE id = '{run_id}'"
    ))
    .get_result(&mut conn)
    .await
    .expect("the run");
    (row.state, row.leased)
}

#[tokio::test]
async fn a_killed_replicas_run_is_taken_over_and_a_stopped_one_gives_its_run_back_at_once() {
    let (name, url) = create_test_database().await;
    let _database = DropDatabase(name);
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN").await;
    let gate = ListingGate::new(&roles).await;
    let logs = tempfile::tempdir().expect("tempdir");
    let serve = |data: &DataDir, log: &str| {
        let mut cmd = oblique(&data.path());
        cmd.env("DATABASE_URL", &url);
        Server::start(cmd, logs.path().join(log))
    };

    // A alone: the initial sync, then a run whose listing waits at the gate.
    let (data_a, data_b) = (DataDir::new(), DataDir::new());
    let mut a = serve(&data_a, "a.log");
    let token = wait_for_token(&mut a, &data_a.path().join("admin-token")).await;
    let clients_a = a.ready_clients(&token).await;
    let created = clients_a
        .integrations
        .clone()
        .create_integration(gate.route(roles.create_request("replicas").await))
        .await
        .expect("create")
        .into_inner();
    let initial = created.last_sync_run.clone().expect("initial run");
    let initial = wait_for_run(&clients_a, &initial.id).await;
    assert_eq!(initial.state(), SyncRunState::Succeeded, "{initial:?}");
    roles.sql("CREATE ROLE {p}_bob LOGIN").await;
    let closed = gate.close().await;
    let run_id = trigger(&clients_a, &created.id).await;
    let deadline = Instant::now() + DEADLINE;
    while run_state(&clients_a, &run_id).await.state() != SyncRunState::Running {
        a.tick("A to claim the run", deadline).await;
    }

    // B joins, with the credentials key the replicas share; A dies without a word; the gate
    // opens.
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(data_b.path())
        .expect("B's data dir");
    std::fs::copy(
        data_a.path().join("secret-key"),
        data_b.path().join("secret-key"),
    )
    .expect("sharing the key");
    let mut b = serve(&data_b, "b.log");
    let clients_b = b.ready_clients(&token).await;
    a.kill();
    closed.open().await;
    let deadline = Instant::now() + DEADLINE;
    let orphaned = loop {
        let run = run_state(&clients_b, &run_id).await;
        if run.state() != SyncRunState::Running {
            break run;
        }
        b.tick("the killed replica's lease to expire", deadline)
            .await;
    };
    assert_eq!(orphaned.state(), SyncRunState::Failed, "{orphaned:?}");
    assert!(orphaned.error.contains("lease"), "{}", orphaned.error);
    let retried = loop {
        let runs = clients_b
            .sync
            .clone()
            .list_sync_runs(pb::ListSyncRunsRequest {
                integration_id: created.id.clone(),
                ..Default::default()
            })
            .await
            .expect("list_sync_runs")
            .into_inner()
            .runs;
        if let Some(newest) = runs.into_iter().find(|run| run.id != run_id)
            && newest.state() == SyncRunState::Succeeded
        {
            break newest;
        }
        b.tick("B to sync the integration again", deadline).await;
    };
    let accounts = retried.stats.unwrap().accounts.unwrap();
    assert_eq!(
        (accounts.created, accounts.unchanged),
        (1, 1),
        "bob new, alice as she was"
    );

    // B holds a new run at the gate and is stopped: the run is queued again at once.
    let closed = gate.close().await;
    let held = trigger(&clients_b, &created.id).await;
    let deadline = Instant::now() + DEADLINE;
    while run_state(&clients_b, &held).await.state() != SyncRunState::Running {
        b.tick("B to claim the run", deadline).await;
    }
    assert!(b.terminate().await.success(), "{}", b.log_text());
    assert_eq!(
        stored_state(&url, &held).await,
        ("queued".to_string(), false),
        "SIGTERM gave the run back"
    );
    closed.open().await;
}
