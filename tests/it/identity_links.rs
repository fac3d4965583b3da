//! Identity links against a real OpenLDAP slapd: which Oblique user an account belongs to is
//! decided by the integration's `link_users_by` and re-checked every sync; an email two entries
//! claim, or one that changed owner, holds the link, and nothing that gives access is pushed to a
//! held account until a sync finds the conflict gone.

use oblique::pb::{self, SyncRunState};
use tonic::Code;
use uuid::Uuid;

use crate::harness::calls::{
    accounts, grant, resource, run_messages, set_mode, sync, synced, user_of, wait_idle,
};
use crate::harness::slapd::Directory;
use crate::harness::{TestApp, eventually};

const PEOPLE: &str = "
dn: uid=alice,ou=people,{base}
objectClass: inetOrgPerson
uid: alice
cn: Alice Archer
sn: Archer
mail: alice@example.org

dn: uid=bob,ou=people,{base}
objectClass: inetOrgPerson
uid: bob
cn: Bob Baker
sn: Baker
mail: bob@example.org

dn: cn=readers,ou=groups,{base}
objectClass: groupOfNames
cn: readers
member: uid=bob,ou=people,{base}
";

/// A person who says `mail`, added to the directory.
async fn add_person(directory: &Directory, uid: &str, mail: &str) {
    directory
        .ldif(&format!(
            "dn: uid={uid},ou=people,{{base}}\nobjectClass: inetOrgPerson\nuid: {uid}\n\
             cn: {uid}\nsn: {uid}\nmail: {mail}\n"
        ))
        .await;
}

async fn set_mail(directory: &Directory, uid: &str, mail: &str) {
    directory
        .ldif(&format!(
            "dn: uid={uid},ou=people,{{base}}\nchangetype: modify\nreplace: mail\nmail: {mail}\n"
        ))
        .await;
}

/// The uids in the group's `member` values on the server, sorted.
async fn member_uids(directory: &Directory, cn: &str) -> Vec<String> {
    let dn = format!("cn={cn},{}", directory.groups());
    let mut uids: Vec<String> = directory
        .values(&dn, "member")
        .await
        .iter()
        .filter_map(|value| value.strip_prefix("uid=")?.split(',').next())
        .map(str::to_string)
        .collect();
    uids.sort();
    uids
}

fn account<'a>(accounts: &'a [pb::Account], username: &str) -> &'a pb::Account {
    accounts
        .iter()
        .find(|a| a.username == username)
        .unwrap_or_else(|| panic!("no account {username} in {accounts:?}"))
}

/// The user's entry in the resource's effective access (ListAccess), if any.
async fn access_of(app: &TestApp, resource: &pb::Resource, user: Uuid) -> Option<pb::AccessEntry> {
    app.viewer
        .access
        .clone()
        .list_access(pb::ListAccessRequest {
            resource_id: resource.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list access")
        .into_inner()
        .entries
        .into_iter()
        .find(|entry| entry.user_id == user.to_string())
}

/// The directory's integration, synced once, with `readers` in push mode (bob adopted).
async fn pushing(app: &TestApp, directory: &Directory) -> (pb::Integration, pb::Resource) {
    directory.ldif(PEOPLE).await;
    let mut request = directory.create_request("directory");
    // People leave in these stories; a small directory would trip the mass-deletion guard.
    request.max_deletion_percent = Some(100);
    let (integration, _) = synced(app, request).await;
    assert_eq!(
        integration.link_users_by, "email",
        "the ldap type's default"
    );
    let readers = resource(app, &integration, "readers").await;
    let readers = set_mode(app, &readers.id, pb::SyncMode::Push).await;
    (integration, readers)
}

async fn synced_again(app: &TestApp, integration: &pb::Integration) -> pb::SyncRun {
    let run = sync(app, integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    run
}

#[tokio::test]
async fn two_entries_saying_one_email_hold_the_link_and_get_nothing_until_one_does() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    let (integration, readers) = pushing(&app, &directory).await;
    let alice = user_of(&app, &integration, "alice").await;

    // Someone who may edit entries gives a second one alice's email.
    add_person(&directory, "mallory", "alice@example.org").await;
    let run = synced_again(&app, &integration).await;
    let messages = run_messages(&app, &run).await;
    assert!(
        messages
            .iter()
            .any(|m| m.contains("2 accounts have a held link") && m.contains("alice@example.org")),
        "{messages:?}"
    );
    let listed = accounts(&app, &integration, false).await;
    let (held_alice, mallory) = (account(&listed, "alice"), account(&listed, "mallory"));
    assert_eq!(
        held_alice.user_id,
        alice.to_string(),
        "the link is kept, held"
    );
    assert!(held_alice.link_conflict.contains("alice@example.org"));
    assert_eq!(mallory.user_id, "", "the newcomer is linked to no one");
    assert!(!mallory.link_conflict.is_empty());
    assert_eq!(account(&listed, "bob").link_conflict, "");

    // A grant to alice is not pushed to either entry while the conflict lasts.
    grant(&app, &readers, alice, "joins the readers").await;
    let entry = eventually("the held push recorded as an error", || async {
        access_of(&app, &readers, alice)
            .await
            .filter(|entry| entry.propagation_status() == pb::PropagationStatus::Error)
    })
    .await;
    assert!(
        entry.propagation_error.contains("conflict"),
        "{}",
        entry.propagation_error
    );
    wait_idle(&app, &integration).await;
    assert_eq!(member_uids(&directory, "readers").await, ["bob"]);

    // The directory is put right: the next sync releases the link and the grant goes out.
    directory
        .ldif("dn: uid=mallory,ou=people,{base}\nchangetype: modify\ndelete: mail\n")
        .await;
    synced_again(&app, &integration).await;
    let listed = accounts(&app, &integration, false).await;
    assert_eq!(account(&listed, "alice").link_conflict, "");
    assert_eq!(account(&listed, "alice").user_id, alice.to_string());
    assert_ne!(account(&listed, "mallory").user_id, alice.to_string());
    eventually("alice added once her link is sound", || async {
        (member_uids(&directory, "readers").await == ["alice", "bob"]).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_email_handed_to_a_new_entry_does_not_bring_the_old_owners_access() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    let (integration, readers) = pushing(&app, &directory).await;
    let alice = user_of(&app, &integration, "alice").await;
    grant(&app, &readers, alice, "joins the readers").await;
    eventually("alice added to the readers", || async {
        (member_uids(&directory, "readers").await == ["alice", "bob"]).then_some(())
    })
    .await;
    wait_idle(&app, &integration).await;

    // Alice leaves; her address goes to a new hire.
    directory
        .ldif(&format!(
            "dn: cn=readers,{}\nchangetype: modify\ndelete: member\nmember: uid=alice,{}\n\n\
             dn: uid=alice,{}\nchangetype: delete\n",
            directory.groups(),
            directory.people(),
            directory.people()
        ))
        .await;
    add_person(&directory, "alicia", "alice@example.org").await;
    synced_again(&app, &integration).await;

    let listed = accounts(&app, &integration, false).await;
    let alicia = account(&listed, "alicia");
    assert_eq!(alicia.user_id, "", "alice's user is not the new hire's");
    assert!(
        alicia.link_conflict.contains("alice@example.org")
            && alicia.link_conflict.contains("alice "),
        "{}",
        alicia.link_conflict
    );
    wait_idle(&app, &integration).await;
    assert_eq!(member_uids(&directory, "readers").await, ["bob"]);
}

#[tokio::test]
async fn an_email_that_changes_holds_the_link_until_it_is_its_users_again() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    let (integration, _) = synced(&app, directory.create_request("directory")).await;
    let alice = user_of(&app, &integration, "alice").await;

    set_mail(&directory, "alice", "bob@example.org").await;
    synced_again(&app, &integration).await;
    let listed = accounts(&app, &integration, false).await;
    assert_eq!(account(&listed, "alice").user_id, alice.to_string());
    assert!(!account(&listed, "alice").link_conflict.is_empty());
    assert!(
        !account(&listed, "bob").link_conflict.is_empty(),
        "bob's email, twice"
    );

    set_mail(&directory, "alice", "alice.archer@example.org").await;
    synced_again(&app, &integration).await;
    let listed = accounts(&app, &integration, false).await;
    let conflict = &account(&listed, "alice").link_conflict;
    assert!(
        conflict.contains("alice.archer@example.org") && conflict.contains("alice@example.org"),
        "{conflict}"
    );
    assert_eq!(account(&listed, "bob").link_conflict, "");

    set_mail(&directory, "alice", "Alice@Example.org").await;
    synced_again(&app, &integration).await;
    let listed = accounts(&app, &integration, false).await;
    assert_eq!(account(&listed, "alice").link_conflict, "", "released");
    assert_eq!(account(&listed, "alice").user_id, alice.to_string());
}

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
    // Later migrations first, down to 000007 itself.
    loop {
        let reverted = oblique::db::migrate::revert_last(&url).await.unwrap();
        if reverted.contains("000007") {
            break;
        }
        assert!(!reverted.contains("000006"), "000007 was never reverted");
    }
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
