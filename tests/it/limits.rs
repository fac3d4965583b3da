//! The server's request limits: an overload is shed with RESOURCE_EXHAUSTED, a call past its
//! deadline ends with DEADLINE_EXCEEDED and leaves nothing half-written, an oversized message is
//! refused; never a hang.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use oblique::pb;
use oblique::request_limits::RequestLimits;
use tonic::Code;

use crate::harness::{TestApp, calls, create_request, expect_code, test_engine};

fn no_sync() -> oblique::engine::EngineConfig {
    oblique::engine::EngineConfig {
        workers: 0,
        schedule: Duration::from_secs(3600),
        ..test_engine()
    }
}

/// Holds a row lock on the integration from another session, so that any update of it waits.
async fn lock_integration(app: &TestApp, id: &str) -> AsyncPgConnection {
    let mut conn = AsyncPgConnection::establish(&app.database_url)
        .await
        .expect("connecting");
    conn.batch_execute(&format!(
        "BEGIN; SELECT 1 FROM integrations WHERE id = '{id}' FOR UPDATE"
    ))
    .await
    .expect("locking the integration");
    conn
}

/// Returns once some session of the app's database waits for a row lock (the blocked call).
async fn wait_until_a_session_waits_for_a_lock(app: &TestApp) {
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        waiting: i64,
    }
    crate::harness::eventually("a call to wait for the lock", || async {
        let mut conn = app.conn().await;
        let found: Waiting = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT count(*) AS waiting FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ),
            &mut conn,
        )
        .await
        .expect("reading pg_stat_activity");
        (found.waiting > 0).then_some(())
    })
    .await;
}

/// The integration's name, read under a row lock of our own: granted after every lock request
/// already waiting for the row.
async fn name_once_unlocked(app: &TestApp, id: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Named {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = AsyncPgConnection::establish(&app.database_url)
        .await
        .expect("connecting");
    // Bounded: an update that kept the row locked for good is a failure, not a hang.
    let patience = crate::harness::PATIENCE.as_secs();
    conn.batch_execute(&format!("BEGIN; SET LOCAL lock_timeout = '{patience}s'"))
        .await
        .expect("begin");
    let query = format!("SELECT name FROM integrations WHERE id = '{id}' FOR UPDATE");
    let named: Named = diesel_async::RunQueryDsl::get_result(diesel::sql_query(query), &mut conn)
        .await
        .expect("locking the integration after the cut-off calls");
    conn.batch_execute("ROLLBACK").await.expect("rollback");
    named.name
}

fn rename(id: &str, name: &str) -> pb::UpdateIntegrationRequest {
    pb::UpdateIntegrationRequest {
        integration: Some(pb::Integration {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".into()],
        }),
    }
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_shed_at_once() {
    let limits = RequestLimits {
        max_concurrent_requests: 1,
        ..RequestLimits::default()
    };
    let app = TestApp::spawn_limited(None, no_sync(), limits).await;
    let integration = calls::create(&app, "limited").await;
    let mut lock = lock_integration(&app, &integration.id).await;

    let mut blocked_client = app.admin.integrations.clone();
    let request = rename(&integration.id, "renamed");
    let blocked = tokio::spawn(async move { blocked_client.update_integration(request).await });
    wait_until_a_session_waits_for_a_lock(&app).await;

    // The blocked call holds the only slot: any other call is shed at once.
    let mut client = app.viewer.integrations.clone();
    let answer = client
        .get_integration(pb::GetIntegrationRequest {
            id: integration.id.clone(),
        })
        .await;
    let shed = expect_code(answer, Code::ResourceExhausted);
    assert!(shed.message().contains("busy"), "{shed:?}");

    lock.batch_execute("ROLLBACK").await.expect("unlocking");
    let renamed = blocked
        .await
        .expect("task")
        .expect("the blocked call succeeds");
    assert_eq!(renamed.into_inner().name, "renamed");
    // The slot is free again.
    client
        .get_integration(pb::GetIntegrationRequest {
            id: integration.id.clone(),
        })
        .await
        .expect("served once the slot is free");
}

#[tokio::test]
async fn a_call_past_its_deadline_ends_and_writes_nothing() {
    let limits = RequestLimits {
        default_deadline: Duration::from_millis(300),
        max_deadline: Duration::from_millis(600),
        ..RequestLimits::default()
    };
    let app = TestApp::spawn_limited(None, no_sync(), limits).await;
    // Stored directly: a create checks the remote system, which a loaded machine may not do
    // within the short deadline this test gives every call.
    let id = crate::users::insert_integration(&app, "deadline", None)
        .await
        .to_string();
    let mut lock = lock_integration(&app, &id).await;

    // No deadline from the caller: the server's default applies.
    let answer = app
        .admin
        .integrations
        .clone()
        .update_integration(rename(&id, "too-late"))
        .await;
    expect_code(answer, Code::DeadlineExceeded);

    // A caller asking for an hour gets the server's maximum. (The client enforces a deadline
    // itself too, so one shorter than the server's would not show what the server does.)
    let mut request = tonic::Request::new(rename(&id, "too-late-2"));
    request.set_timeout(Duration::from_secs(3600));
    let answer = app
        .admin
        .integrations
        .clone()
        .update_integration(request)
        .await;
    let status = expect_code(answer, Code::DeadlineExceeded);
    assert!(status.message().contains("deadline"), "{status:?}");

    lock.batch_execute("ROLLBACK").await.expect("unlocking");
    // An update wrongly left running waits in the row's lock queue; a lock taken now queues
    // behind it, so it is granted only once that update committed or was rolled back.
    assert_eq!(
        name_once_unlocked(&app, &id).await,
        "deadline",
        "a cut-off call must change nothing"
    );
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_creates_nothing() {
    let app = TestApp::spawn_limited(None, no_sync(), RequestLimits::default()).await;
    let mut request = create_request("huge").await;
    request
        .config
        .insert("database".into(), "x".repeat(5 * 1024 * 1024));
    let answer = app
        .admin
        .integrations
        .clone()
        .create_integration(request)
        .await;
    let status = answer.expect_err("a 5 MiB message is over the 4 MiB limit");
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    let listed = app
        .admin
        .integrations
        .clone()
        .list_integrations(pb::ListIntegrationsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(listed.integrations.is_empty(), "{listed:?}");
}
