//! The audit log: who did what, filterable, and unchangeable even by SQL.

use diesel_async::SimpleAsyncConnection;
use oblique::pb::{self, ListAuditEventsRequest};
use tonic::Code;

use crate::harness::{TestApp, create_request, expect_code};

#[tokio::test]
async fn the_database_refuses_to_change_audit_events() {
    let app = TestApp::spawn_without_sync().await;
    app.admin
        .integrations
        .clone()
        .create_integration(create_request("audited").await)
        .await
        .unwrap();
    // As the owner, who alone could: the server's own role may not even try (tests/it/db_roles.rs).
    let mut conn = app.owner_conn().await;
    for statement in [
        "UPDATE audit_events SET action = 'tampered'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let error = conn.batch_execute(statement).await.expect_err(statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    let events = app
        .admin
        .integrations
        .clone()
        .list_audit_events(ListAuditEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "integration.create");
}

#[tokio::test]
async fn audit_events_name_the_actor_and_filter() {
    let app = TestApp::spawn_without_sync().await;
    let mut admin = app.admin.integrations.clone();
    let first = admin
        .create_integration(create_request("first").await)
        .await
        .unwrap()
        .into_inner();
    let checkpoint = prost_types::Timestamp::from(std::time::SystemTime::now());
    let second = admin
        .create_integration(create_request("second").await)
        .await
        .unwrap()
        .into_inner();
    app.service
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: second.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let list = |request: ListAuditEventsRequest| {
        let mut admin = admin.clone();
        async move {
            admin
                .list_audit_events(request)
                .await
                .unwrap()
                .into_inner()
                .events
        }
    };
    let all = list(ListAuditEventsRequest::default()).await;
    let actions: Vec<_> = all.iter().map(|e| e.action.as_str()).collect();
    // The initial run is still queued, so TriggerSync returned it without a new audit event.
    assert_eq!(actions, ["integration.create", "integration.create"]);
    let actor = all[0].actor.clone().unwrap();
    assert_eq!(
        (actor.name.as_str(), actor.role.as_str()),
        ("test-admin", "admin")
    );
    let details = all[0].details.clone().unwrap();
    assert_eq!(
        details.fields["name"].kind,
        Some(prost_types::value::Kind::StringValue("second".into()))
    );

    let by_integration = list(ListAuditEventsRequest {
        integration_id: first.id.clone(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_integration.len(), 1);
    assert_eq!(by_integration[0].integration_id, first.id);
    let since = list(ListAuditEventsRequest {
        since: Some(checkpoint),
        ..Default::default()
    })
    .await;
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].integration_id, second.id);
    assert!(
        list(ListAuditEventsRequest {
            actor: "someone-else".into(),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        list(ListAuditEventsRequest {
            actor: "test-admin".into(),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    assert_eq!(
        list(ListAuditEventsRequest {
            action: "integration.create".into(),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    let paged = admin
        .list_audit_events(ListAuditEventsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paged.events[0].id, all[0].id, "newest first");
    let next = admin
        .list_audit_events(ListAuditEventsRequest {
            page_size: 1,
            page_token: paged.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.events[0].id, all[1].id);

    expect_code(
        admin
            .list_audit_events(ListAuditEventsRequest {
                integration_id: "x".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
}
