//! What each `link_users_by` links, how it is checked, and what older integrations keep.

use oblique::pb;
use tonic::Code;

use super::{PEOPLE, account, add_person, synced_again};
use crate::harness::TestApp;
use crate::harness::calls::{accounts, resource, set_mode, synced, user_of};
use crate::harness::slapd::Directory;

#[tokio::test]
async fn link_users_by_username_never_links_by_a_remote_email() {
    let app = TestApp::spawn().await;
    let trusted = Directory::new().await;
    trusted.ldif(PEOPLE).await;
    let (first, _) = synced(&app, trusted.create_request("directory")).await;
    let alice = user_of(&app, &first, "alice").await;

    // A second system where anyone may set their own email.
    let other = Directory::new().await;
    add_person(&other, "mallory", "alice@example.org").await;
    add_person(&other, "alice", "someone@example.org").await;
    let mut request = other.create_request("self-service");
    request.link_users_by = "username".into();
    let (second, _) = synced(&app, request).await;
    assert_eq!(second.link_users_by, "username");

    let listed = accounts(&app, &second, false).await;
    assert_eq!(account(&listed, "alice").user_id, alice.to_string());
    assert_ne!(account(&listed, "mallory").user_id, alice.to_string());
    assert_ne!(account(&listed, "mallory").user_id, "");
    assert!(
        listed.iter().all(|a| a.link_conflict.is_empty()),
        "{listed:?}"
    );
}

#[tokio::test]
async fn link_users_by_none_links_no_account_and_is_checked() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    let mut integrations = app.admin.integrations.clone();
    let types = integrations
        .list_integration_types(pb::ListIntegrationTypesRequest {})
        .await
        .unwrap()
        .into_inner()
        .types;
    let default_of = |name: &str| {
        let kind = types.iter().find(|t| t.name == name).unwrap();
        kind.default_link_users_by.clone()
    };
    assert_eq!(default_of("ldap"), "email");
    assert_eq!(
        default_of("postgres"),
        "username",
        "database roles have no email"
    );

    let mut request = directory.create_request("untrusted");
    request.link_users_by = "nobody".into();
    let refused = integrations
        .create_integration(request.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("link_users_by"), "{refused:?}");

    request.link_users_by = "none".into();
    let (integration, _) = synced(&app, request).await;
    let listed = accounts(&app, &integration, false).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|a| a.user_id.is_empty()), "{listed:?}");

    // Nothing is anyone's: push mode would remove every member, so it is refused.
    let readers = resource(&app, &integration, "readers").await;
    let refused = integrations
        .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
            resource_id: readers.id.clone(),
            sync_mode: pb::SyncMode::Push.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");

    // Trusting its emails after all links the accounts at the next sync...
    let update = |policy: &str| pb::UpdateIntegrationRequest {
        integration: Some(pb::Integration {
            id: integration.id.clone(),
            link_users_by: policy.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["link_users_by".into()],
        }),
    };
    let updated = integrations
        .update_integration(update("email"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.link_users_by, "email");
    synced_again(&app, &integration).await;
    let listed = accounts(&app, &integration, false).await;
    assert!(listed.iter().all(|a| !a.user_id.is_empty()), "{listed:?}");

    // ...and going back to none is refused while a resource is pushed to.
    set_mode(&app, &readers.id, pb::SyncMode::Push).await;
    let refused = integrations
        .update_integration(update("none"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
}

/// Migration 000007: integrations saved before `link_users_by` keep what they did (ldap by
/// email, postgres by username), and the column names no other policy.
#[tokio::test]
async fn integrations_from_before_the_policy_keep_how_they_linked() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
    let (name, url) = crate::harness::servers::create_empty_database().await;
    oblique::db::migrate::run_pending(&url).await.unwrap();
    // Back to just before 000007, whichever migrations came after it (each reverts cleanly).
    while !oblique::db::migrate::revert_last(&url)
        .await
        .unwrap()
        .contains("000007")
    {}
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    conn.batch_execute(
        "INSERT INTO integrations (id, integration_type, name) VALUES
             ('00000000-0000-7000-8000-000000000001', 'ldap', 'directory'),
             ('00000000-0000-7000-8000-000000000002', 'postgres', 'database')",
    )
    .await
    .unwrap();
    oblique::db::migrate::run_pending(&url).await.unwrap();

    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        link_users_by: String,
    }
    let rows: Vec<Row> =
        diesel::sql_query("SELECT link_users_by FROM integrations ORDER BY name DESC")
            .load(&mut conn)
            .await
            .unwrap();
    let policies: Vec<&str> = rows.iter().map(|r| r.link_users_by.as_str()).collect();
    assert_eq!(policies, ["email", "username"]);
    let refused = conn
        .batch_execute("UPDATE integrations SET link_users_by = 'anyone'")
        .await;
    assert!(refused.is_err(), "the CHECK constraint holds");
    drop(conn);
    crate::harness::servers::drop_test_database(name);
}
