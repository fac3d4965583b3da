//! Pull: what a sync brings from a real PostgreSQL cluster, what a later sync changes, and what
//! it must leave alone (no-change runs, dry runs, the mass-deletion guard).

use diesel_async::RunQueryDsl;
use oblique::pb::{self, SyncRunState};
use prost_types::FieldMask;

use crate::harness::TestApp;
use crate::harness::calls::Count::{Created, Deleted, SomeUnchanged, Updated};
use crate::harness::calls::Kind::{Access, Accounts, Attributes, Resources};
use crate::harness::calls::{
    accounts, assert_counts, audit_events, memberships, resources, run_messages, sync_again, synced,
};
use crate::harness::remote::RemoteRoles;

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|item| name(item).to_string()).collect()
}

fn attribute<'a>(account: &'a pb::Account, name: &str) -> Option<&'a [String]> {
    account
        .attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.values.as_slice())
}

#[tokio::test]
async fn the_initial_sync_mirrors_the_remote() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN CREATEDB CONNECTION LIMIT 5;
             COMMENT ON ROLE {p}_alice IS 'Alice in accounting';
             CREATE ROLE {p}_bob LOGIN VALID UNTIL '2031-01-01 00:00:00+00';
             CREATE ROLE {p}_readers NOLOGIN; COMMENT ON ROLE {p}_readers IS 'read only';
             CREATE ROLE {p}_writers NOLOGIN;
             GRANT {p}_readers TO {p}_alice, {p}_bob; GRANT {p}_writers TO {p}_bob;
             GRANT {p}_readers TO {p}_writers;",
        )
        .await;
    let (integration, run) = synced(&app, roles.create_request("directory").await).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert_counts(&run, Accounts, &[Created(2)]);
    assert_counts(&run, Resources, &[Created(2)]);
    // 3, not 4: the nested role membership (readers in writers) is not access.
    assert_counts(&run, Access, &[Created(3)]);

    let accounts = accounts(&app, &integration, false).await;
    assert_eq!(
        names(&accounts, |a| &a.username),
        [roles.name("alice"), roles.name("bob")]
    );
    let alice = &accounts[0];
    assert_eq!(
        attribute(alice, "createdb"),
        Some(&["true".to_string()][..])
    );
    assert_eq!(
        attribute(alice, "connection_limit"),
        Some(&["5".to_string()][..])
    );
    assert_eq!(
        attribute(alice, "comment"),
        Some(&["Alice in accounting".to_string()][..])
    );
    assert_eq!(
        attribute(alice, "superuser"),
        Some(&["false".to_string()][..])
    );
    assert!(attribute(&accounts[1], "valid_until").unwrap()[0].starts_with("2031-01-01"));
    assert!(
        accounts.iter().all(|a| !a.user_id.is_empty()),
        "every account links to a user"
    );
    assert!(accounts.iter().all(|a| a.last_synced_at.is_some()));

    let resources = resources(&app, &integration, false).await;
    assert_eq!(
        names(&resources, |r| &r.name),
        [roles.name("readers"), roles.name("writers")]
    );
    assert_eq!(resources[0].description, "read only");
    assert_eq!(resources[0].resource_type, "role");
    assert_eq!(resources[0].sync_mode(), pb::SyncMode::Pull);

    let expected = vec![
        (roles.name("readers"), roles.name("alice")),
        (roles.name("readers"), roles.name("bob")),
        (roles.name("writers"), roles.name("bob")),
    ];
    assert_eq!(memberships(&app, &integration).await, expected);

    let fetched = app
        .viewer
        .integrations
        .clone()
        .get_integration(pb::GetIntegrationRequest {
            id: integration.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((fetched.account_count, fetched.resource_count), (2, 2));
}

#[tokio::test]
async fn a_later_sync_brings_new_dropped_and_changed_roles() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_carol LOGIN;
             CREATE ROLE {p}_dave LOGIN; CREATE ROLE {p}_readers NOLOGIN;
             GRANT {p}_readers TO {p}_alice;",
        )
        .await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;

    roles
        .sql(
            "CREATE ROLE {p}_erin LOGIN; DROP ROLE {p}_dave;
             REVOKE {p}_readers FROM {p}_alice; GRANT {p}_readers TO {p}_bob;
             ALTER ROLE {p}_carol CREATEDB;",
        )
        .await;
    // One of four accounts goes: above the default guard of 20%, so this sync allows it.
    let run = sync_again(&app, &integration, false, true).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert_counts(&run, Accounts, &[Created(1), Deleted(1)]);
    // carol's createdb.
    assert_counts(&run, Attributes, &[Updated(1)]);
    assert_counts(&run, Access, &[Created(1), Deleted(1)]);

    let live = accounts(&app, &integration, false).await;
    assert_eq!(
        names(&live, |a| &a.username),
        [
            roles.name("alice"),
            roles.name("bob"),
            roles.name("carol"),
            roles.name("erin")
        ]
    );
    let carol = live
        .iter()
        .find(|a| a.username == roles.name("carol"))
        .unwrap();
    assert_eq!(
        attribute(carol, "createdb"),
        Some(&["true".to_string()][..])
    );
    let all = accounts(&app, &integration, true).await;
    let dave = all
        .iter()
        .find(|a| a.username == roles.name("dave"))
        .expect("soft deleted");
    assert!(dave.deleted && dave.deleted_at.is_some());
    assert_eq!(
        memberships(&app, &integration).await,
        [(roles.name("readers"), roles.name("bob"))]
    );
}

#[tokio::test]
async fn a_vanished_resource_is_soft_deleted_then_restored_when_it_returns() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN;
             CREATE ROLE {p}_x_hidden NOLOGIN; GRANT {p}_x_hidden TO {p}_alice;",
        )
        .await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    let hidden = resources(&app, &integration, false)
        .await
        .into_iter()
        .find(|r| r.name == roles.name("x_hidden"))
        .unwrap();

    // Narrowing the pattern hides the role from the integration, as dropping it would; the
    // same role (same oid) comes back when the pattern widens again.
    let set_pattern = |pattern: String| {
        let mut config = integration.config.clone();
        config.insert("role_pattern".into(), pattern);
        pb::UpdateIntegrationRequest {
            integration: Some(pb::Integration {
                id: integration.id.clone(),
                config,
                max_deletion_percent: 100,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["config".into(), "max_deletion_percent".into()],
            }),
        }
    };
    let mut admin = app.admin.integrations.clone();
    // Only names with an "a" after the prefix: alice and readers, not x_hidden.
    admin
        .update_integration(set_pattern(format!("{}\\_%a%", roles.prefix)))
        .await
        .unwrap();
    let run = sync_again(&app, &integration, false, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let gone = app
        .viewer
        .integrations
        .clone()
        .get_resource(pb::GetResourceRequest {
            id: hidden.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        gone.deleted,
        "a resource the remote no longer lists is soft deleted"
    );
    assert!(memberships(&app, &integration).await.is_empty());
    let audit = audit_events(&app, &hidden.id, "").await;
    assert_eq!(audit[0].action, "resource.soft_delete");

    admin
        .update_integration(set_pattern(roles.pattern()))
        .await
        .unwrap();
    let run = sync_again(&app, &integration, false, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let back = app
        .viewer
        .integrations
        .clone()
        .get_resource(pb::GetResourceRequest {
            id: hidden.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !back.deleted,
        "the same resource is restored, not recreated"
    );
    assert_eq!(
        memberships(&app, &integration).await,
        [(roles.name("x_hidden"), roles.name("alice"))]
    );
    let audit = audit_events(&app, &hidden.id, "").await;
    assert_eq!(audit[0].action, "resource.restore");
}

/// Row versions of everything a sync writes: any UPDATE, INSERT or DELETE changes this.
async fn synced_row_versions(app: &TestApp) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let versions: Vec<Version> = diesel::sql_query(
        "SELECT 'a' || id || xmin AS version FROM accounts
         UNION ALL SELECT 't' || account_id || name || xmin FROM account_attributes
         UNION ALL SELECT 'r' || id || xmin FROM resources
         UNION ALL SELECT 'p' || id || xmin FROM pulled_access
         UNION ALL SELECT 'u' || id || xmin FROM users
         ORDER BY 1",
    )
    .load(&mut app.conn().await)
    .await
    .unwrap();
    versions.into_iter().map(|v| v.version).collect()
}

#[tokio::test]
async fn a_sync_that_finds_no_change_writes_nothing() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN;
             GRANT {p}_readers TO {p}_alice;",
        )
        .await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    let before = synced_row_versions(&app).await;
    let run = sync_again(&app, &integration, false, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded);
    for kind in [Accounts, Attributes, Resources, Access] {
        let none_changed = [Created(0), Updated(0), Deleted(0), SomeUnchanged];
        assert_counts(&run, kind, &none_changed);
    }
    assert_eq!(
        synced_row_versions(&app).await,
        before,
        "no row of synced data was written"
    );
}

#[tokio::test]
async fn a_dry_run_reports_the_difference_and_applies_nothing() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN;").await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    roles.sql("CREATE ROLE {p}_newcomer LOGIN;").await;
    let before = synced_row_versions(&app).await;

    let run = sync_again(&app, &integration, true, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert!(run.dry_run);
    assert_counts(&run, Accounts, &[Created(1)]);
    assert_eq!(
        synced_row_versions(&app).await,
        before,
        "a dry run writes nothing"
    );
    assert_eq!(accounts(&app, &integration, true).await.len(), 1);

    // The difference is listed by ListSyncRunChanges (tests/it/dry_run_changes.rs); the events
    // point there.
    let messages = run_messages(&app, &run).await;
    let expected = format!(
        "dry run: 1 change listed; see ListSyncRunChanges with run_id {}",
        run.id
    );
    assert!(
        messages.iter().any(|m| m.starts_with(&expected)),
        "{messages:?}"
    );
}

#[tokio::test]
async fn the_mass_deletion_guard_stops_a_sync_until_it_is_allowed() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_a1 LOGIN; CREATE ROLE {p}_a2 LOGIN; CREATE ROLE {p}_a3 LOGIN;
             CREATE ROLE {p}_a4 LOGIN; CREATE ROLE {p}_a5 LOGIN; CREATE ROLE {p}_a6 LOGIN;",
        )
        .await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    // One of six (17%) is within the default 20%.
    roles.sql("DROP ROLE {p}_a6;").await;
    let run = sync_again(&app, &integration, false, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");

    roles
        .sql("DROP ROLE {p}_a1; DROP ROLE {p}_a2; DROP ROLE {p}_a3;")
        .await;
    let before = synced_row_versions(&app).await;
    let run = sync_again(&app, &integration, false, false).await;
    assert_eq!(run.state(), SyncRunState::Failed);
    assert!(run.error.contains("mass-deletion guard"), "{}", run.error);
    assert!(run.error.contains("3 of 5 accounts"), "{}", run.error);
    assert_eq!(synced_row_versions(&app).await, before, "nothing applied");

    let run = sync_again(&app, &integration, false, true).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert_counts(&run, Accounts, &[Deleted(3)]);
    assert_eq!(accounts(&app, &integration, false).await.len(), 2);
}

#[tokio::test]
async fn accounts_link_to_users_by_username_across_integrations() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN;").await;
    let (first, _) = synced(&app, roles.create_request("directory").await).await;
    let mut second_request = roles.create_request("second view").await;
    second_request.name = "second view".into();
    let (second, _) = synced(&app, second_request).await;

    let a = accounts(&app, &first, false).await;
    let b = accounts(&app, &second, false).await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].user_id, b[0].user_id, "one person, one Oblique user");
    assert_ne!(a[0].id, b[0].id);
}
