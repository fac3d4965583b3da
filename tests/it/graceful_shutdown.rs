//! SIGTERM while a run lists and callers follow it: the streams end UNAVAILABLE saying why (so
//! the callers subscribe again elsewhere), the run goes back to the queue at once, and the
//! process exits cleanly without needing its grace period.

use futures::StreamExt;
use oblique::pb::{self, SyncRunState};
use std::time::Instant;

use crate::faults::replicas::{stored_state, trigger};
use crate::harness::remote::RemoteRoles;
use crate::harness::servers::create_test_database;
use crate::harness::{get_run, wait_for_run};
use crate::listing_gate::ListingGate;
use crate::serve_binary::{DEADLINE, DataDir, DropDatabase, Server, oblique, wait_for_token};

#[tokio::test]
async fn sigterm_ends_streams_unavailable_and_gives_the_run_back_at_once() {
    let (name, url) = create_test_database().await;
    let _database = DropDatabase(name);
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN").await;
    let gate = ListingGate::new(&roles).await;
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut serve = oblique(&data.path());
    serve.env("DATABASE_URL", &url);
    let mut server = Server::start(serve, logs.path().join("serve.log"));
    let token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    let clients = server.ready_clients(&token).await;
    let created = clients
        .integrations
        .clone()
        .create_integration(gate.route(roles.create_request("stopping").await))
        .await
        .expect("create")
        .into_inner();
    let initial = wait_for_run(&clients, &created.last_sync_run.unwrap().id).await;
    assert_eq!(initial.state(), SyncRunState::Succeeded, "{initial:?}");

    let closed = gate.close().await;
    let run_id = trigger(&clients, &created.id).await;
    let deadline = Instant::now() + DEADLINE;
    while get_run(&clients, &run_id).await.expect("run").state() != SyncRunState::Running {
        server.tick("the run to be claimed", deadline).await;
    }
    let mut sync = clients.sync.clone();
    let mut everything = sync
        .subscribe_sync_events(pb::SubscribeSyncEventsRequest::default())
        .await
        .expect("subscribe")
        .into_inner();
    let mut watching = sync
        .watch_sync_run(pb::WatchSyncRunRequest {
            run_id: run_id.clone(),
        })
        .await
        .expect("watch")
        .into_inner();
    // The watch replays the run's events so far: it is open once the first arrives.
    watching
        .next()
        .await
        .expect("a replayed event")
        .expect("an event, not an error");

    assert!(server.terminate().await.success(), "{}", server.log_text());
    for (what, stream) in [("subscription", &mut everything), ("watch", &mut watching)] {
        let ended = loop {
            match stream.next().await {
                Some(Ok(_)) => continue,
                Some(Err(status)) => break status,
                None => panic!("the {what} ended without a status saying why"),
            }
        };
        assert_eq!(ended.code(), tonic::Code::Unavailable, "{what}: {ended:?}");
        assert!(
            ended.message().contains("shutting down"),
            "{what}: {ended:?}"
        );
    }
    assert_eq!(
        stored_state(&url, &run_id).await,
        ("queued".to_string(), false),
        "SIGTERM gave the run back"
    );
    let log = server.log_text();
    assert!(
        !log.contains("stopping without them"),
        "calls outlived the signal:\n{log}"
    );
    closed.open().await;
}
