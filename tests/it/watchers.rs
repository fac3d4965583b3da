//! Many WatchSyncRun callers share the one LISTEN feed: each reads the stored events once for its
//! replay and takes every live event from the feed, never from the database.

use oblique::db::run_events::{self as events, EventDraft, EventKind};
use oblique::pb::{self, SyncEventKind as Kind, SyncRunState as State};
use uuid::Uuid;

use crate::harness::{PATIENCE, TestApp, calls, eventually};

const WATCHERS: usize = 20;
/// Live events published while the watchers wait.
const LIVE_EVENTS: i64 = 10;

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
    // The run (no workers) gets events stored and NOTIFYed the way a worker's are. Once every
    // watcher has passed on the last of them, reads are counted: a watcher that read the
    // database for live events, on each notification or on a timer while they came, would have
    // read again by then.
    let run = Uuid::parse_str(&run_id).unwrap();
    for processed in 1..=LIVE_EVENTS {
        let progress = EventDraft::new(EventKind::Progress).progress(processed);
        let mut conn = app.conn().await;
        events::emit(&mut conn, run, progress).await.expect("emit");
    }
    for (stream, received) in &mut streams {
        for _ in 0..LIVE_EVENTS {
            let event = tokio::time::timeout(PATIENCE, stream.message()).await;
            let event = event.expect("a live event").expect("watch stream");
            received.push(event.expect("the stream goes on"));
        }
        assert_eq!(received.last().unwrap().processed, LIVE_EVENTS);
    }
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
