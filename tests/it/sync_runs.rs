//! SyncService end to end: the run queue (one active run, scheduling, leases), cancellation and
//! removal, and streamed progress, across replicas sharing one database.

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use oblique::pb::{
    self, SyncEventKind as Kind, SyncPhase as Phase, SyncRunState as State, SyncTrigger,
};
use tonic::Code;
use uuid::Uuid;

use crate::harness::remote::RemoteRoles;
use crate::harness::{
    Clients, PATIENCE, TestApp, eventually, expect_code, test_engine, wait_for_run,
};

/// A fixture with one LOGIN role (alice) in one NOLOGIN role (readers).
async fn remote_roles() -> RemoteRoles {
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice")
        .await;
    roles
}

async fn create(app: &TestApp, roles: &RemoteRoles, name: &str, interval: i32) -> pb::Integration {
    let mut request = roles.create_request(name).await;
    request.sync_interval_seconds = interval;
    let mut client = app.admin.integrations.clone();
    client
        .create_integration(request)
        .await
        .expect("create")
        .into_inner()
}

/// An integration whose initial run has succeeded.
async fn synced(app: &TestApp, roles: &RemoteRoles, name: &str) -> pb::Integration {
    let integration = create(app, roles, name, 0).await;
    let initial = integration.last_sync_run.clone().expect("initial run");
    assert_eq!(
        wait_for_run(&app.viewer, &initial.id).await.state(),
        State::Succeeded
    );
    integration
}

async fn trigger(app: &TestApp, integration_id: &str) -> Result<pb::SyncRun, tonic::Status> {
    let request = pb::TriggerSyncRequest {
        integration_id: integration_id.into(),
        ..Default::default()
    };
    app.service
        .sync
        .clone()
        .trigger_sync(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Newest first.
async fn runs(app: &TestApp, integration_id: &str) -> Vec<pb::SyncRun> {
    let request = pb::ListSyncRunsRequest {
        integration_id: integration_id.into(),
        ..Default::default()
    };
    app.viewer
        .sync
        .clone()
        .list_sync_runs(request)
        .await
        .expect("ListSyncRuns")
        .into_inner()
        .runs
}

/// Usernames of the integration's accounts, soft-deleted ones included.
async fn usernames(app: &TestApp, integration_id: &str) -> Vec<String> {
    let request = pb::ListAccountsRequest {
        integration_id: integration_id.into(),
        include_deleted: true,
        ..Default::default()
    };
    let mut client = app.viewer.integrations.clone();
    let listed = client
        .list_accounts(request)
        .await
        .expect("ListAccounts")
        .into_inner();
    listed
        .accounts
        .into_iter()
        .map(|account| account.username)
        .collect()
}

/// Every event WatchSyncRun sends, up to the end of the stream (which must come).
async fn watch(clients: &Clients, run_id: &str) -> Vec<pb::SyncEvent> {
    let request = pb::WatchSyncRunRequest {
        run_id: run_id.into(),
    };
    let mut stream = clients
        .sync
        .clone()
        .watch_sync_run(request)
        .await
        .expect("watch")
        .into_inner();
    let mut events = Vec::new();
    let collect = async {
        while let Some(event) = stream.message().await.expect("watch stream") {
            events.push(event);
        }
    };
    tokio::time::timeout(PATIENCE, collect)
        .await
        .expect("the watch never ended");
    events
}

/// Takes a lock that makes every listing of roles on the remote wait, until the connection is
/// rolled back or dropped (also by a panic's unwinding). Other tests wait too: hold it briefly.
async fn block_remote_listings(roles: &RemoteRoles) -> AsyncPgConnection {
    let mut conn = roles.connect_admin().await;
    conn.batch_execute("BEGIN; LOCK TABLE pg_authid IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    conn
}

async fn wait_until_running(app: &TestApp, run_id: &str) {
    eventually("the run to be running", || async {
        let request = pb::GetSyncRunRequest { id: run_id.into() };
        let run = app
            .viewer
            .sync
            .clone()
            .get_sync_run(request)
            .await
            .expect("GetSyncRun");
        (run.into_inner().state() == State::Running).then_some(())
    })
    .await;
}

#[tokio::test]
async fn cancel_stops_a_running_run_and_applies_nothing() {
    let app = TestApp::spawn().await;
    let roles = remote_roles().await;
    let integration = synced(&app, &roles, "cancelled").await;
    let initial = integration.last_sync_run.clone().unwrap();
    roles.sql("CREATE ROLE {p}_bob LOGIN").await;

    // The listing waits on the lock, so the run is caught while running; assertions come after
    // the release so that a failure never leaves the remote locked.
    let mut lock = block_remote_listings(&roles).await;
    let run = trigger(&app, &integration.id).await.expect("trigger");
    wait_until_running(&app, &run.id).await;
    let request = pb::CancelSyncRunRequest { id: run.id.clone() };
    let cancelled = app
        .admin
        .sync
        .clone()
        .cancel_sync_run(request.clone())
        .await;
    lock.batch_execute("ROLLBACK").await.expect("release");
    drop(lock);

    assert_eq!(
        cancelled.expect("cancel").into_inner().state(),
        State::Cancelled
    );
    let ended = wait_for_run(&app.viewer, &run.id).await;
    assert_eq!(ended.state(), State::Cancelled, "{ended:?}");
    let events = watch(&app.viewer, &run.id).await;
    let last = events.last().expect("events");
    assert_eq!(
        (last.kind(), last.state()),
        (Kind::Finished, State::Cancelled)
    );
    let again = app
        .admin
        .sync
        .clone()
        .cancel_sync_run(request)
        .await
        .expect("cancel again");
    assert_eq!(
        again.into_inner(),
        ended,
        "cancelling twice changes nothing"
    );
    let finished = pb::CancelSyncRunRequest { id: initial.id };
    expect_code(
        app.admin.sync.clone().cancel_sync_run(finished).await,
        Code::FailedPrecondition,
    );
    assert!(
        !usernames(&app, &integration.id)
            .await
            .contains(&roles.name("bob"))
    );

    // The role was only held back by the cancelled run: the next run brings it.
    let next = trigger(&app, &integration.id).await.expect("trigger");
    assert_ne!(next.id, run.id);
    assert_eq!(
        wait_for_run(&app.viewer, &next.id).await.state(),
        State::Succeeded
    );
    assert_eq!(
        wait_for_run(&app.viewer, &run.id).await.state(),
        State::Cancelled
    );
    assert!(
        usernames(&app, &integration.id)
            .await
            .contains(&roles.name("bob"))
    );
}

#[tokio::test]
async fn an_integration_has_at_most_one_active_run() {
    // Without workers the initial run stays queued: every trigger must answer with it.
    let app = TestApp::spawn_without_sync().await;
    let roles = remote_roles().await;
    let integration = create(&app, &roles, "busy", 0).await;
    let initial = integration.last_sync_run.expect("initial run");
    assert_eq!(initial.trigger(), SyncTrigger::Created);

    assert_eq!(trigger(&app, &integration.id).await.unwrap().id, initial.id);
    assert_eq!(trigger(&app, &integration.id).await.unwrap().id, initial.id);
    let (first, second) = tokio::join!(
        trigger(&app, &integration.id),
        trigger(&app, &integration.id)
    );
    assert_eq!(first.unwrap().id, initial.id);
    assert_eq!(second.unwrap().id, initial.id);
    let listed = runs(&app, &integration.id).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].state(), State::Queued);
}

#[tokio::test]
async fn a_killed_workers_lease_expires_and_a_new_run_converges() {
    let app = TestApp::spawn_without_sync().await;
    let roles = remote_roles().await;
    let integration = create(&app, &roles, "orphaned", 0).await;
    let orphan = integration.last_sync_run.expect("initial run");
    // As if a process had claimed the run and died without a trace.
    app.conn()
        .await
        .batch_execute(&format!(
            "UPDATE sync_runs SET state = 'running', claimed_by = 'dead-worker/0', started_at = now(),
                 lease_expires_at = now() - interval '1 second' WHERE id = '{}'",
            orphan.id
        ))
        .await
        .expect("orphaning the run");

    let replica = app.spawn_replica(test_engine()).await;
    let failed = wait_for_run(&replica.viewer, &orphan.id).await;
    assert_eq!(failed.state(), State::Failed);
    assert!(failed.error.contains("lease"), "{}", failed.error);
    let retry = eventually("a retry run", || async {
        let newest = runs(&app, &integration.id).await.into_iter().next()?;
        (newest.id != orphan.id).then_some(newest)
    })
    .await;
    assert_eq!(retry.trigger(), SyncTrigger::Scheduled);
    assert_eq!(
        wait_for_run(&app.viewer, &retry.id).await.state(),
        State::Succeeded
    );
    assert_eq!(
        usernames(&app, &integration.id).await,
        vec![roles.name("alice")]
    );
}

#[tokio::test]
async fn two_servers_on_one_database_run_once_and_both_see_the_events() {
    // A serves calls only; B, on the same database, does the work.
    let a = TestApp::spawn_without_sync().await;
    let b = a.spawn_replica(test_engine()).await;
    let roles = remote_roles().await;
    // Synced first: its run also proves A's listener is up before we subscribe.
    let other = synced(&a, &roles, "other").await;
    let mut sync = a.viewer.sync.clone();
    let all = pb::SubscribeSyncEventsRequest::default();
    let mut everything = sync
        .subscribe_sync_events(all)
        .await
        .expect("subscribe")
        .into_inner();
    let filter = pb::SubscribeSyncEventsRequest {
        integration_id: other.id.clone(),
    };
    let mut others = sync
        .subscribe_sync_events(filter)
        .await
        .expect("subscribe")
        .into_inner();

    let integration = create(&a, &roles, "shared", 0).await;
    let run_id = integration.last_sync_run.expect("initial run").id;
    let mut seen = Vec::new();
    let follow = async {
        while let Some(event) = everything.message().await.expect("subscription") {
            let done = event.run_id == run_id && event.kind() == Kind::Finished;
            seen.push(event);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(PATIENCE, follow)
        .await
        .expect("FINISHED never came to A");

    let events = watch(&a.viewer, &run_id).await;
    let seqs: Vec<i64> = events.iter().map(|event| event.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as i64).collect::<Vec<_>>(),
        "gapless"
    );
    let claims = events
        .iter()
        .filter(|e| e.kind() == Kind::StateChanged && e.state() == State::Running);
    assert_eq!(claims.count(), 1, "executed exactly once: {events:?}");
    let last = events.last().unwrap();
    assert_eq!(
        (last.kind(), last.state()),
        (Kind::Finished, State::Succeeded)
    );
    let live: Vec<_> = seen
        .into_iter()
        .filter(|event| event.run_id == run_id)
        .collect();
    assert_eq!(
        live, events,
        "the subscriber on A saw every event, in order"
    );
    assert_eq!(runs(&b, &integration.id).await.len(), 1);

    // Nothing of this run reaches a subscriber filtered on another integration. This waits a
    // little for stray events; it asserts nothing about time.
    let short = std::time::Duration::from_millis(500);
    while let Ok(event) = tokio::time::timeout(short, others.message()).await {
        let event = event.expect("filtered subscription").expect("open");
        assert_eq!(event.integration_id, other.id, "{event:?}");
    }
}

#[tokio::test]
async fn watching_a_finished_run_replays_every_phase_and_ends() {
    let app = TestApp::spawn().await;
    let roles = remote_roles().await;
    let integration = synced(&app, &roles, "replayed").await;
    let run_id = integration.last_sync_run.unwrap().id;

    // `watch` returns only once the stream has ended.
    let events = watch(&app.viewer, &run_id).await;
    assert_eq!(
        (events[0].kind(), events[0].state()),
        (Kind::StateChanged, State::Queued)
    );
    let phases: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.kind(), Kind::PhaseStarted | Kind::PhaseFinished))
        .map(|e| (e.kind(), e.phase()))
        .collect();
    let expected = [Phase::Accounts, Phase::Resources, Phase::Access]
        .into_iter()
        .flat_map(|phase| [(Kind::PhaseStarted, phase), (Kind::PhaseFinished, phase)])
        .collect::<Vec<_>>();
    assert_eq!(phases, expected);
    let last = events.last().unwrap();
    assert_eq!(
        (last.kind(), last.state()),
        (Kind::Finished, State::Succeeded)
    );
    let stats = last.stats.expect("FINISHED carries the stats");
    assert_eq!(stats.accounts.expect("accounts").created, 1);
    assert_eq!(
        events.iter().filter(|e| e.kind() == Kind::Finished).count(),
        1
    );
}

#[tokio::test]
async fn streams_check_tokens_roles_and_ids() {
    let app = TestApp::spawn_without_sync().await;
    let roles = remote_roles().await;
    let integration = create(&app, &roles, "watched", 0).await;
    let run_id = integration.last_sync_run.unwrap().id;
    let watch_req = |id: &str| pb::WatchSyncRunRequest { run_id: id.into() };
    let sub_req = |id: &str| pb::SubscribeSyncEventsRequest {
        integration_id: id.into(),
    };
    let mut anonymous = app.anonymous.sync.clone();
    let mut viewer = app.viewer.sync.clone();

    expect_code(
        anonymous.watch_sync_run(watch_req(&run_id)).await,
        Code::Unauthenticated,
    );
    expect_code(
        anonymous.subscribe_sync_events(sub_req("")).await,
        Code::Unauthenticated,
    );

    // A viewer may watch: the queued run's history so far comes first.
    let mut stream = viewer
        .watch_sync_run(watch_req(&run_id))
        .await
        .expect("watch")
        .into_inner();
    let first = stream.message().await.expect("event").expect("open");
    assert_eq!(
        (first.kind(), first.state()),
        (Kind::StateChanged, State::Queued)
    );
    viewer
        .subscribe_sync_events(sub_req(""))
        .await
        .expect("subscribe");
    viewer
        .subscribe_sync_events(sub_req(&integration.id))
        .await
        .expect("subscribe");

    let unknown = Uuid::now_v7().to_string();
    expect_code(
        viewer.watch_sync_run(watch_req(&unknown)).await,
        Code::NotFound,
    );
    expect_code(
        viewer.subscribe_sync_events(sub_req(&unknown)).await,
        Code::NotFound,
    );
    let bad = expect_code(
        viewer.watch_sync_run(watch_req("nope")).await,
        Code::InvalidArgument,
    );
    assert!(bad.message().contains("run_id"), "{bad:?}");
    let bad = expect_code(
        viewer.subscribe_sync_events(sub_req("nope")).await,
        Code::InvalidArgument,
    );
    assert!(bad.message().contains("integration_id"), "{bad:?}");
}

#[tokio::test]
async fn deleting_an_integration_cancels_its_run_and_it_never_syncs_again() {
    let app = TestApp::spawn().await;
    let roles = remote_roles().await;
    let integration = synced(&app, &roles, "doomed").await;
    roles.sql("CREATE ROLE {p}_bob LOGIN").await;

    let mut lock = block_remote_listings(&roles).await;
    let run = trigger(&app, &integration.id).await.expect("trigger");
    wait_until_running(&app, &run.id).await;
    let request = pb::DeleteIntegrationRequest {
        id: integration.id.clone(),
        force: true,
    };
    let deleted = app
        .admin
        .integrations
        .clone()
        .delete_integration(request)
        .await;
    lock.batch_execute("ROLLBACK").await.expect("release");
    drop(lock);

    assert_eq!(
        deleted.expect("delete").into_inner().cancelled_run_id,
        run.id
    );
    assert_eq!(
        wait_for_run(&app.viewer, &run.id).await.state(),
        State::Cancelled
    );
    let names = usernames(&app, &integration.id).await;
    assert_eq!(
        names,
        vec![roles.name("alice")],
        "the cancelled run applied nothing"
    );
    expect_code(
        trigger(&app, &integration.id).await,
        Code::FailedPrecondition,
    );

    // A live integration on a 1 s interval getting two scheduled runs proves the scheduler has
    // ticked since the delete; it must have queued nothing for the deleted one.
    let ticker = create(&app, &roles, "ticker", 1).await;
    eventually("two scheduled runs of another integration", || async {
        let scheduled = runs(&app, &ticker.id).await;
        let scheduled = scheduled
            .iter()
            .filter(|r| r.trigger() == SyncTrigger::Scheduled);
        (scheduled.count() >= 2).then_some(())
    })
    .await;
    let listed: Vec<String> = runs(&app, &integration.id)
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, vec![run.id, integration.last_sync_run.unwrap().id]);
}

#[tokio::test]
async fn the_scheduler_queues_a_run_when_the_interval_has_passed() {
    let app = TestApp::spawn().await;
    let roles = remote_roles().await;
    let integration = create(&app, &roles, "frequent", 1).await;
    let initial = integration.last_sync_run.unwrap();
    let scheduled = eventually("a scheduled run", || async {
        let listed = runs(&app, &integration.id).await;
        listed
            .into_iter()
            .find(|run| run.trigger() == SyncTrigger::Scheduled)
    })
    .await;
    assert!(scheduled.id > initial.id, "queued after the initial run");
    assert_eq!(scheduled.requested_by, "system");
    assert_eq!(
        wait_for_run(&app.viewer, &scheduled.id).await.state(),
        State::Succeeded
    );
}
