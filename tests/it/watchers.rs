//! Many WatchSyncRun callers share the one LISTEN feed: each reads the stored events once for its
//! replay and never polls the database while it waits.

use oblique::pb::{self, SyncEventKind as Kind, SyncRunState as State};

use crate::harness::{PATIENCE, TestApp, calls, eventually};

const WATCHERS: usize = 20;

#[tokio::test]
async fn watchers_of_a_waiting_run_do_not_poll_and_all_see_its_end() {
    let app = TestApp::spawn_without_sync().await;
    let hub = app.ctx.hub.clone();
    // Once the listener listens, it never restarts in this test: no catch-up reads are due.
    eventually("the event listener to listen", || async {
        (*hub.listening().borrow() > 0).then_some(())
    })
    .await;
    let integration = calls::create(&app, "watched").await;
    let run_id = integration.last_sync_run.expect("initial run").id;

    let mut streams = Vec::new();
    for _ in 0..WATCHERS {
        let request = pb::WatchSyncRunRequest {
            run_id: run_id.clone(),
        };
        let mut sync = app.viewer.sync.clone();
        let mut stream = sync
            .watch_sync_run(request)
            .await
            .expect("watch")
            .into_inner();
        let queued = stream.message().await.expect("replay").expect("an event");
        assert_eq!(queued.state(), State::Queued);
        streams.push((stream, vec![queued]));
    }
    // Nothing happens to the run (no workers) for a few seconds: a watcher that polled would
    // read the database again and again meanwhile.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        hub.stored_reads(),
        WATCHERS as u64,
        "one replay read per watcher"
    );

    let mut sync = app.admin.sync.clone();
    let cancel = pb::CancelSyncRunRequest { id: run_id.clone() };
    sync.cancel_sync_run(cancel).await.expect("cancel");
    for (mut stream, mut events) in streams {
        let rest = async {
            while let Some(event) = stream.message().await.expect("watch stream") {
                events.push(event);
            }
            events
        };
        let events = tokio::time::timeout(PATIENCE, rest)
            .await
            .expect("the watch ends");
        let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
        let expected: Vec<i64> = (1..=events.len() as i64).collect();
        assert_eq!(seqs, expected, "every event, in order");
        let last = events.last().expect("events");
        assert_eq!(
            (last.kind(), last.state()),
            (Kind::Finished, State::Cancelled)
        );
    }
    assert_eq!(
        hub.stored_reads(),
        WATCHERS as u64,
        "live events came from the feed"
    );
}
