//! The Overview tab follows a running sync over server-sent events.

use super::serve_console;
use super::visitor::Visitor;
use crate::harness::TestApp;
use crate::harness::remote::RemoteRoles;

/// A console with no sync workers (an integration's initial run stays queued until the test
/// says what happens to it), an admin signed in, and one integration named `name`.
struct Watched {
    app: TestApp,
    base: String,
    visitor: Visitor,
    integration: oblique::pb::Integration,
    /// The remote the integration syncs from: kept as long as the test runs.
    _roles: RemoteRoles,
}

async fn watched(name: &str) -> Watched {
    let app = TestApp::spawn_without_sync().await;
    let base = serve_console(&app, false).await;
    let token = app
        .issue_token("console-admin", oblique::auth::Role::Admin)
        .await;
    let roles = RemoteRoles::new().await;
    let integration = app
        .admin
        .integrations
        .clone()
        .create_integration(roles.create_request(name).await)
        .await
        .expect("create")
        .into_inner();
    let mut visitor = Visitor::new(&base);
    visitor.sign_in(&token).await;
    Watched {
        app,
        base,
        visitor,
        integration,
        _roles: roles,
    }
}

#[tokio::test]
async fn the_overview_follows_a_running_sync_over_server_sent_events() {
    use oblique::db::run_events::{self as events, EventDraft, EventKind};
    use oblique::model::RunPhase;

    let Watched {
        app,
        base,
        visitor,
        integration,
        _roles,
    } = watched("followed").await;
    let id: uuid::Uuid = integration.id.parse().unwrap();
    let overview = visitor.get(&format!("/integrations/{id}")).await;
    let events_path = format!("/integrations/{id}/events");
    assert!(
        overview
            .body
            .contains(&format!(r#"data-events="{events_path}""#)),
        "{}",
        overview.body
    );

    let mut stream = visitor
        .client
        .get(format!("{base}{events_path}"))
        .header("cookie", visitor.cookie.clone().unwrap())
        .send()
        .await
        .expect("GET events");
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    // The queued run gets events stored and NOTIFYed the way a worker's are; cancelling it
    // ends it with its FINISHED event.
    let run_id = integration.last_sync_run.expect("the initial run").id;
    let run: uuid::Uuid = run_id.parse().unwrap();
    let mut progress = EventDraft::new(EventKind::Progress)
        .phase(RunPhase::Accounts)
        .progress(12);
    progress.total = 40;
    let mut conn = app.conn().await;
    events::emit(&mut conn, run, progress).await.expect("emit");
    app.admin
        .sync
        .clone()
        .cancel_sync_run(oblique::pb::CancelSyncRunRequest { id: run_id })
        .await
        .expect("cancel");
    let mut received = String::new();
    while let Some(chunk) = stream.chunk().await.expect("a chunk") {
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        received.contains("event: progress\ndata: queued: accounts (12 of 40)"),
        "{received}"
    );
    assert!(
        received.contains("event: finished\ndata: cancelled"),
        "{received}"
    );
}

/// Each open events stream counts in `oblique_subscribers`, as a SubscribeSyncEvents stream
/// does, until it ends or its browser leaves; one opened after the run ended is told how it
/// ended at once (and is not left counted).
#[tokio::test]
async fn console_event_streams_count_as_subscribers_while_open() {
    let Watched {
        app,
        base,
        visitor,
        integration,
        _roles,
    } = watched("counted").await;
    let events_url = format!("{base}/integrations/{}/events", integration.id);
    let open = || async {
        visitor
            .client
            .get(&events_url)
            .header("cookie", visitor.cookie.clone().unwrap())
            .send()
            .await
            .expect("GET events")
    };
    let subscribers =
        || crate::metrics::sample(&app.ctx.metrics.encode(), "oblique_subscribers") as i64;
    assert_eq!(subscribers(), 0);
    let first = open().await;
    let mut second = open().await;
    assert_eq!(subscribers(), 2);
    // A browser that leaves: its stream is dropped with its connection.
    drop(first);
    crate::harness::eventually("the left stream no longer counted", || async {
        (subscribers() == 1).then_some(())
    })
    .await;
    // The run ends: the stream that stayed gets FINISHED and ends, uncounted.
    app.admin
        .sync
        .clone()
        .cancel_sync_run(oblique::pb::CancelSyncRunRequest {
            id: integration.last_sync_run.expect("the initial run").id,
        })
        .await
        .expect("cancel");
    let mut received = String::new();
    while let Some(chunk) = second.chunk().await.expect("a chunk") {
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        received.contains("event: finished\ndata: cancelled"),
        "{received}"
    );
    crate::harness::eventually("no stream counted", || async {
        (subscribers() == 0).then_some(())
    })
    .await;
    // Opened after the end: told how the run ended, at once.
    let late = open().await.text().await.expect("the late stream");
    assert!(late.contains("event: finished\ndata: cancelled"), "{late}");
    assert_eq!(subscribers(), 0);
}
