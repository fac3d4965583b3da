//! SyncService end to end: the run queue (one active run, scheduling, leases), cancellation and
//! removal, and streamed progress, across replicas sharing one database.

use diesel_async::SimpleAsyncConnection;
use oblique::engine::EngineConfig;
use oblique::pb::{self, SyncEventKind as Kind, SyncRunState as State, SyncTrigger};
use tonic::{Code, Status, Streaming};
use uuid::Uuid;

use crate::harness::calls::runs;
use crate::harness::remote::RemoteRoles;
use crate::harness::{
    Clients, PATIENCE, TestApp, eventually, expect_code, test_engine, wait_for_run,
};
use crate::listing_gate::ListingGate;

type Reply<T> = Result<T, Status>;

/// A fixture with one LOGIN role (alice) in one NOLOGIN role (readers).
async fn remote_roles() -> RemoteRoles {
    let roles = RemoteRoles::new().await;
    let sql = "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN; \
               GRANT {p}_readers TO {p}_alice";
    roles.sql(sql).await;
    roles
}

async fn create(app: &TestApp, roles: &RemoteRoles, name: &str, interval: i32) -> pb::Integration {
    let mut request = roles.create_request(name).await;
    request.sync_interval_seconds = interval;
    create_from(app, request).await
}

async fn create_from(app: &TestApp, request: pb::CreateIntegrationRequest) -> pb::Integration {
    let mut client = app.admin.integrations.clone();
    let created = client.create_integration(request).await;
    created.expect("create").into_inner()
}

/// An integration whose initial run has succeeded, and that run's id.
async fn synced(app: &TestApp, request: pb::CreateIntegrationRequest) -> (pb::Integration, String) {
    let integration = create_from(app, request).await;
    let initial = integration.last_sync_run.clone().expect("initial run").id;
    assert_eq!(ends(app, &initial).await, State::Succeeded);
    (integration, initial)
}

/// The state the run ends in.
async fn ends(app: &TestApp, run_id: &str) -> State {
    wait_for_run(&app.viewer, run_id).await.state()
}

fn kind_state(event: &pb::SyncEvent) -> (Kind, State) {
    (event.kind(), event.state())
}

async fn trigger(app: &TestApp, integration_id: &str) -> Reply<pb::SyncRun> {
    let integration_id = integration_id.into();
    let request = pb::TriggerSyncRequest {
        integration_id,
        ..Default::default()
    };
    let mut sync = app.service.sync.clone();
    Ok(sync.trigger_sync(request).await?.into_inner())
}

async fn cancel(app: &TestApp, id: &str) -> Reply<pb::SyncRun> {
    let request = pb::CancelSyncRunRequest { id: id.into() };
    let mut sync = app.admin.sync.clone();
    Ok(sync.cancel_sync_run(request).await?.into_inner())
}

/// Usernames of the integration's accounts, soft-deleted ones included.
async fn usernames(app: &TestApp, integration_id: &str) -> Vec<String> {
    let (integration_id, include_deleted) = (integration_id.into(), true);
    let request = pb::ListAccountsRequest {
        integration_id,
        include_deleted,
        ..Default::default()
    };
    let listed = app.viewer.integrations.clone().list_accounts(request).await;
    let accounts = listed.expect("ListAccounts").into_inner().accounts;
    accounts.into_iter().map(|a| a.username).collect()
}

async fn open_watch(clients: &Clients, run_id: &str) -> Reply<Streaming<pb::SyncEvent>> {
    let request = pb::WatchSyncRunRequest {
        run_id: run_id.into(),
    };
    let mut sync = clients.sync.clone();
    Ok(sync.watch_sync_run(request).await?.into_inner())
}

async fn subscribe(clients: &Clients, integration_id: &str) -> Reply<Streaming<pb::SyncEvent>> {
    let integration_id = integration_id.into();
    let request = pb::SubscribeSyncEventsRequest { integration_id };
    let mut sync = clients.sync.clone();
    Ok(sync.subscribe_sync_events(request).await?.into_inner())
}

/// Every event WatchSyncRun sends, up to the end of the stream (which must come).
async fn watch(clients: &Clients, run_id: &str) -> Vec<pb::SyncEvent> {
    let mut stream = open_watch(clients, run_id).await.expect("watch");
    let mut events = Vec::new();
    let collect = async {
        while let Some(event) = stream.message().await.expect("watch stream") {
            events.push(event);
        }
    };
    let ended = tokio::time::timeout(PATIENCE, collect).await;
    ended.expect("the watch never ended");
    events
}

/// What the stream delivers up to and including the FINISHED event of `run_id`, which must come.
/// Events are broadcast in the order they were committed, so whatever was published before that
/// run finished is in the result: a later run's end is how a test shows that nothing else came.
async fn until_finished(stream: &mut Streaming<pb::SyncEvent>, run_id: &str) -> Vec<pb::SyncEvent> {
    let mut events = Vec::new();
    let collect = async {
        while let Some(event) = stream.message().await.expect("subscription") {
            let done = event.run_id == run_id && event.kind() == Kind::Finished;
            events.push(event);
            if done {
                return;
            }
        }
        panic!("the subscription ended before run {run_id} finished");
    };
    let finished = tokio::time::timeout(PATIENCE, collect).await;
    finished.unwrap_or_else(|_| panic!("run {run_id} never finished"));
    events
}

async fn wait_until_running(app: &TestApp, run_id: &str) {
    eventually("the run to be running", || async {
        let request = pb::GetSyncRunRequest { id: run_id.into() };
        let run = app.viewer.sync.clone().get_sync_run(request).await;
        (run.expect("GetSyncRun").into_inner().state() == State::Running).then_some(())
    })
    .await;
}

#[tokio::test]
async fn cancel_stops_a_running_run_and_applies_nothing() {
    // One worker: the run after the cancelled one starts only once that worker has let go of the
    // cancelled one, so its events come after anything the cancelled run could still publish.
    let one_worker = EngineConfig {
        workers: 1,
        ..test_engine()
    };
    let app = TestApp::spawn_configured(None, one_worker).await;
    let roles = remote_roles().await;
    let gate = ListingGate::new(&roles).await;
    let request = gate.route(roles.create_request("cancelled").await);
    let (integration, initial) = synced(&app, request).await;
    roles.sql("CREATE ROLE {p}_bob LOGIN").await;
    let mut subscription = subscribe(&app.viewer, &integration.id).await.unwrap();

    // The listing waits at the closed gate, so the run is caught while running.
    let closed = gate.close().await;
    let run = trigger(&app, &integration.id).await.expect("trigger");
    wait_until_running(&app, &run.id).await;
    let cancelled = cancel(&app, &run.id).await;
    closed.open().await;

    assert_eq!(cancelled.expect("cancel").state(), State::Cancelled);
    let ended = wait_for_run(&app.viewer, &run.id).await;
    assert_eq!(ended.state(), State::Cancelled, "{ended:?}");
    let events = watch(&app.viewer, &run.id).await;
    let finished = (Kind::Finished, State::Cancelled);
    assert_eq!(kind_state(events.last().unwrap()), finished);
    // Unchanged also means the stopped worker wrote nothing more to the run (e.g. its phase).
    let again = cancel(&app, &run.id).await.expect("cancel again");
    assert_eq!(again, ended, "cancelling a cancelled run changes nothing");
    expect_code(cancel(&app, &initial).await, Code::FailedPrecondition);
    let bob = roles.name("bob");
    assert!(!usernames(&app, &integration.id).await.contains(&bob));

    // Only the cancelled run held the role back: the next run brings it.
    let next = trigger(&app, &integration.id).await.expect("trigger");
    assert_ne!(next.id, run.id);
    assert_eq!(ends(&app, &next.id).await, State::Succeeded);
    assert_eq!(ends(&app, &run.id).await, State::Cancelled);
    assert!(usernames(&app, &integration.id).await.contains(&bob));

    // FINISHED is the last event a run gets: the stopped worker publishes nothing after it, up
    // to the end of the next run, which that worker could only start once it was done.
    let mut published = until_finished(&mut subscription, &next.id).await;
    published.retain(|event| event.run_id == run.id);
    let last = published.last().expect("the cancelled run's events");
    assert_eq!(
        kind_state(last),
        finished,
        "events after FINISHED: {published:?}"
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
    let id = &integration.id;
    let (first, second) = tokio::join!(trigger(&app, id), trigger(&app, id));
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
    let orphan = integration.last_sync_run.expect("initial run").id;
    // As if a process had claimed the run and died without a trace.
    let sql = format!(
        "UPDATE sync_runs SET state = 'running', claimed_by = 'dead-worker/0', started_at = now(),
             lease_expires_at = now() - interval '1 second' WHERE id = '{orphan}'"
    );
    let mut conn = app.conn().await;
    conn.batch_execute(&sql).await.expect("orphaning the run");

    let replica = app.spawn_replica(test_engine()).await;
    let failed = wait_for_run(&replica.viewer, &orphan).await;
    assert_eq!(failed.state(), State::Failed);
    assert!(failed.error.contains("lease"), "{}", failed.error);
    let retry = eventually("a new run", || async {
        let newest = runs(&app, &integration.id).await.into_iter().next()?;
        (newest.id != orphan).then_some(newest)
    })
    .await;
    assert_eq!(retry.trigger(), SyncTrigger::Scheduled);
    assert_eq!(ends(&app, &retry.id).await, State::Succeeded);
    let names = usernames(&app, &integration.id).await;
    assert_eq!(names, vec![roles.name("alice")]);
}

#[tokio::test]
async fn two_servers_on_one_database_run_once_and_both_see_the_events() {
    // A serves calls only; B, on the same database, does the work.
    let a = TestApp::spawn_without_sync().await;
    let b = a.spawn_replica(test_engine()).await;
    let roles = remote_roles().await;
    // Synced first: its run also shows A's event listener is up before we subscribe.
    let (other, _) = synced(&a, roles.create_request("other").await).await;
    let mut everything = subscribe(&a.viewer, "").await.expect("subscribe");
    let mut others = subscribe(&a.viewer, &other.id).await.expect("subscribe");

    let integration = create(&a, &roles, "shared", 0).await;
    let run_id = integration.last_sync_run.expect("initial run").id;
    let mut seen = until_finished(&mut everything, &run_id).await;

    let events = watch(&a.viewer, &run_id).await;
    let seqs: Vec<i64> = events.iter().map(|event| event.seq).collect();
    let gapless: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(seqs, gapless);
    let running = (Kind::StateChanged, State::Running);
    let claims = events.iter().filter(|event| kind_state(event) == running);
    assert_eq!(claims.count(), 1, "executed exactly once: {events:?}");
    let succeeded = (Kind::Finished, State::Succeeded);
    assert_eq!(kind_state(events.last().unwrap()), succeeded);
    seen.retain(|event| event.run_id == run_id);
    assert_eq!(seen, events, "A's subscriber saw every event");
    assert_eq!(runs(&b, &integration.id).await.len(), 1);

    // Nothing of this run reaches a subscriber filtered on another integration: up to the end
    // of a run of that integration started after this one ended, it sees only its own events.
    let marker = trigger(&a, &other.id).await.expect("trigger");
    for event in until_finished(&mut others, &marker.id).await {
        assert_eq!(event.integration_id, other.id, "{event:?}");
    }
}

#[tokio::test]
async fn watching_a_finished_run_replays_every_phase_and_ends() {
    use pb::SyncPhase::{Access, Accounts, Resources};
    let app = TestApp::spawn().await;
    let roles = remote_roles().await;
    let (_, run_id) = synced(&app, roles.create_request("replayed").await).await;

    // `watch` returns only once the stream has ended.
    let events = watch(&app.viewer, &run_id).await;
    assert_eq!(kind_state(&events[0]), (Kind::StateChanged, State::Queued));
    let phases: Vec<_> = events
        .iter()
        .filter(|event| matches!(event.kind(), Kind::PhaseStarted | Kind::PhaseFinished))
        .map(|event| (event.kind(), event.phase()))
        .collect();
    let expected: Vec<_> = [Accounts, Resources, Access]
        .into_iter()
        .flat_map(|phase| [(Kind::PhaseStarted, phase), (Kind::PhaseFinished, phase)])
        .collect();
    assert_eq!(phases, expected);
    let last = events.last().unwrap();
    assert_eq!(kind_state(last), (Kind::Finished, State::Succeeded));
    let stats = last.stats.expect("FINISHED carries the stats");
    assert_eq!(stats.accounts.expect("accounts").created, 1);
    let finished = events.iter().filter(|e| e.kind() == Kind::Finished);
    assert_eq!(finished.count(), 1);
}

#[tokio::test]
async fn streams_check_tokens_roles_and_ids() {
    let app = TestApp::spawn_without_sync().await;
    let roles = remote_roles().await;
    let integration = create(&app, &roles, "watched", 0).await;
    let run_id = integration.last_sync_run.unwrap().id;
    let (anonymous, viewer) = (&app.anonymous, &app.viewer);

    expect_code(open_watch(anonymous, &run_id).await, Code::Unauthenticated);
    expect_code(subscribe(anonymous, "").await, Code::Unauthenticated);

    // A viewer may watch: the queued run's history so far comes first.
    let mut stream = open_watch(viewer, &run_id).await.expect("watch");
    let first = stream.message().await.expect("event").expect("open");
    assert_eq!(kind_state(&first), (Kind::StateChanged, State::Queued));
    subscribe(viewer, "").await.expect("subscribe to all");
    let one = subscribe(viewer, &integration.id).await;
    one.expect("subscribe to one");

    let unknown = Uuid::now_v7().to_string();
    expect_code(open_watch(viewer, &unknown).await, Code::NotFound);
    expect_code(subscribe(viewer, &unknown).await, Code::NotFound);
    let bad = expect_code(open_watch(viewer, "nope").await, Code::InvalidArgument);
    assert!(bad.message().contains("run_id"), "{bad:?}");
    let bad = expect_code(subscribe(viewer, "nope").await, Code::InvalidArgument);
    assert!(bad.message().contains("integration_id"), "{bad:?}");
}

#[tokio::test]
async fn deleting_an_integration_cancels_its_run_and_it_never_syncs_again() {
    let app = TestApp::spawn().await;
    let roles = remote_roles().await;
    let gate = ListingGate::new(&roles).await;
    let request = gate.route(roles.create_request("doomed").await);
    let (integration, initial) = synced(&app, request).await;
    roles.sql("CREATE ROLE {p}_bob LOGIN").await;

    let closed = gate.close().await;
    let run = trigger(&app, &integration.id).await.expect("trigger");
    wait_until_running(&app, &run.id).await;
    let (id, force) = (integration.id.clone(), true);
    let mut client = app.admin.integrations.clone();
    let deleted = client
        .delete_integration(pb::DeleteIntegrationRequest { id, force })
        .await;
    closed.open().await;

    let deleted = deleted.expect("delete").into_inner();
    assert_eq!(deleted.cancelled_run_id, run.id);
    assert_eq!(ends(&app, &run.id).await, State::Cancelled);
    let names = usernames(&app, &integration.id).await;
    assert_eq!(names, vec![roles.name("alice")], "nothing applied");
    let refused = trigger(&app, &integration.id).await;
    expect_code(refused, Code::FailedPrecondition);

    // A live integration on a 1 s interval getting two scheduled runs proves the scheduler has
    // ticked since the delete; it must have queued nothing for the deleted one.
    let ticker = create(&app, &roles, "ticker", 1).await;
    eventually("two scheduled runs of another integration", || async {
        let listed = runs(&app, &ticker.id).await;
        let scheduled = listed
            .iter()
            .filter(|r| r.trigger() == SyncTrigger::Scheduled);
        (scheduled.count() >= 2).then_some(())
    })
    .await;
    let listed = runs(&app, &integration.id).await;
    let ids: Vec<_> = listed.into_iter().map(|run| run.id).collect();
    assert_eq!(ids, vec![run.id, initial]);
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
            .find(|r| r.trigger() == SyncTrigger::Scheduled)
    })
    .await;
    // Run ids are UUIDv7: a greater one was queued later.
    assert!(scheduled.id > initial.id, "{scheduled:?}");
    assert_eq!(scheduled.requested_by, "system");
    assert_eq!(ends(&app, &scheduled.id).await, State::Succeeded);
}
