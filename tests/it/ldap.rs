//! The `ldap` integration type against a real OpenLDAP slapd: setup checks, what a sync pulls
//! (users, attributes, groups, memberships by member, uniqueMember and memberUid), paging past
//! the server's size limit, renames, deletions and unreadable entries; and, connector-level,
//! what a push changes on the server.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures::TryStreamExt;
use oblique::connectors::{Connector, ConnectorError, Listed, PageStream, RemoteAccess};
use oblique::db::schema::integrations;
use oblique::pb::{self, SyncRunState};
use tonic::Code;

use crate::harness::calls::{accounts, memberships, resources, run_messages, sync_again, synced};
use crate::harness::slapd::{BIND_DN, BIND_PASSWORD, Directory, SIZE_LIMIT};
use crate::harness::{TestApp, expect_code};

fn attribute<'a>(account: &'a pb::Account, name: &str) -> Vec<&'a str> {
    account
        .attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.values.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

fn pair(resource: &str, account: &str) -> (String, String) {
    (resource.to_string(), account.to_string())
}

const PEOPLE: &str = "
dn: uid=alice,ou=people,{base}
objectClass: inetOrgPerson
uid: alice
cn: Alice Archer
displayName: Alice A.
sn: Archer
givenName: Alice
mail: alice@example.org
title: Zookeeper
title: Accountant
title: Mediator
telephoneNumber: +1 555 0101

dn: uid=bob,ou=people,{base}
objectClass: inetOrgPerson
uid: bob
cn: Bob Baker
sn: Baker
employeeType: contractor

dn: uid=carol,ou=people,{base}
objectClass: inetOrgPerson
uid: carol
cn: Carol Cole
sn: Cole
";

#[tokio::test]
async fn a_wrong_password_base_or_server_is_refused_and_nothing_is_saved() {
    let app = TestApp::spawn_without_sync().await;
    let directory = Directory::new().await;
    let mut client = app.admin.integrations.clone();

    let mut wrong_password = directory.create_request("wrong password");
    wrong_password
        .credentials
        .insert("bind_password".into(), "not-the-Password-1".into());
    let status = expect_code(
        client.create_integration(wrong_password).await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("credentials.bind_password:"),
        "{status:?}"
    );
    assert!(!status.message().contains("not-the-Password-1"));

    let mut wrong_base = directory.create_request("wrong base");
    let missing = format!("ou=missing,{}", directory.base);
    wrong_base.config.insert("base_dn".into(), missing);
    let status = expect_code(
        client.create_integration(wrong_base).await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("config.base_dn:"),
        "{status:?}"
    );

    let mut wrong_group_base = directory.create_request("wrong group base");
    let missing = format!("ou=teams,{}", directory.base);
    wrong_group_base.config.insert("group_base".into(), missing);
    let status = expect_code(
        client.create_integration(wrong_group_base).await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("config.group_base:"),
        "{status:?}"
    );

    // The test server has no TLS: StartTLS is refused, and an ldaps:// client gets no handshake.
    let mut starttls = directory.create_request("starttls");
    starttls.config.insert("starttls".into(), "true".into());
    let status = expect_code(
        client.create_integration(starttls).await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("config.starttls:"),
        "{status:?}"
    );
    let mut ldaps = directory.create_request("ldaps");
    let url = directory.config(&[])["url"].replace("ldap://", "ldaps://");
    ldaps.config.insert("url".into(), url);
    let status = expect_code(
        client.create_integration(ldaps).await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("config.url:"), "{status:?}");

    let unused_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut nowhere = directory.create_request("nowhere");
    let url = format!("ldap://127.0.0.1:{unused_port}");
    nowhere.config.insert("url".into(), url);
    let status = expect_code(client.create_integration(nowhere).await, Code::Unavailable);
    assert!(status.message().contains("cannot reach"), "{status:?}");

    let saved: i64 = integrations::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(saved, 0);

    // The same directory with the right setup is accepted.
    client
        .create_integration(directory.create_request("right"))
        .await
        .expect("a valid setup");
}

#[tokio::test]
async fn the_initial_sync_brings_users_attributes_groups_and_memberships() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    directory
        .ldif(
            "
dn: cn=outsider,{base}
objectClass: person
cn: outsider
sn: Outsider

dn: cn=engineering,ou=groups,{base}
objectClass: groupOfNames
cn: engineering
description: Builds things
member: uid=alice,ou=people,{base}
member: UID=Bob, ou=People,{base}
member: cn=outsider,{base}

dn: cn=auditors,ou=groups,{base}
objectClass: groupOfUniqueNames
cn: auditors
uniqueMember: uid=bob,ou=people,{base}
uniqueMember: uid=carol,ou=people,{base}#'0101'B

dn: cn=developers,ou=groups,{base}
objectClass: posixGroup
cn: developers
gidNumber: 5001
memberUid: alice
memberUid: ghost
",
        )
        .await;
    let (integration, run) = synced(&app, directory.create_request("directory")).await;
    let stats = run.stats.unwrap();
    assert_eq!(stats.accounts.unwrap().created, 3);
    assert_eq!(stats.resources.unwrap().created, 3);
    assert_eq!(stats.access.unwrap().created, 5);
    assert_eq!(stats.errors, 0);
    let messages = run_messages(&app, &run).await;
    assert!(
        messages.iter().any(|m| m.starts_with("2 memberships name")),
        "the outsider and the unknown memberUid are counted as a warning: {messages:?}"
    );

    let accounts = accounts(&app, &integration, false).await;
    let usernames: Vec<&str> = accounts.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(usernames, ["alice", "bob", "carol"]);
    let alice = &accounts[0];
    let alice_dn = format!("uid=alice,ou=people,{}", directory.base);
    assert_eq!(
        alice.external_id,
        directory.entry_uuid(&alice_dn).await,
        "known by entryUUID"
    );
    assert_eq!(alice.email, "alice@example.org");
    assert_eq!(alice.display_name, "Alice A.");
    assert_eq!(attribute(alice, "dn"), [alice_dn.as_str()]);
    assert_eq!(
        attribute(alice, "title"),
        ["Zookeeper", "Accountant", "Mediator"],
        "multi-valued, in the directory's order"
    );
    assert_eq!(attribute(alice, "givenName"), ["Alice"]);
    assert_eq!(attribute(alice, "telephoneNumber"), ["+1 555 0101"]);
    let bob = &accounts[1];
    assert_eq!(bob.display_name, "Bob Baker", "cn without displayName");
    assert_eq!(bob.email, "");
    assert_eq!(attribute(bob, "employeeType"), ["contractor"]);
    assert!(attribute(bob, "title").is_empty());

    let resources = resources(&app, &integration, false).await;
    let names: Vec<&str> = resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["auditors", "developers", "engineering"]);
    assert!(resources.iter().all(|r| r.resource_type == "group"));
    assert_eq!(resources[2].description, "Builds things");

    assert_eq!(
        memberships(&app, &integration).await,
        [
            pair("auditors", "bob"),
            pair("auditors", "carol"),
            pair("developers", "alice"),
            pair("engineering", "alice"),
            pair("engineering", "bob"),
        ]
    );
}

#[tokio::test]
async fn paging_brings_every_user_past_the_server_size_limit() {
    const USERS: usize = 1_250;
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.add_users("p", USERS).await;
    let mut members = String::new();
    for n in 0..USERS {
        members.push_str(&format!("member: uid=p{n},ou=people,{{base}}\n"));
    }
    directory
        .ldif(&format!(
            "dn: cn=everyone,ou=groups,{{base}}\nobjectClass: groupOfNames\ncn: everyone\n{members}"
        ))
        .await;
    // The limit is real: without paging the bind DN gets SIZE_LIMIT entries and an error.
    let plain = std::process::Command::new("ldapsearch")
        .args([
            "-x",
            "-LLL",
            "-H",
            &directory.config(&[])["url"],
            "-D",
            BIND_DN,
        ])
        .args([
            "-w",
            BIND_PASSWORD,
            "-b",
            &directory.people(),
            "(uid=*)",
            "1.1",
        ])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(4), "sizeLimitExceeded");
    let dns = String::from_utf8_lossy(&plain.stdout)
        .matches("dn: ")
        .count();
    assert_eq!(dns, SIZE_LIMIT);

    let (integration, run) = synced(&app, directory.create_request("big")).await;
    let stats = run.stats.unwrap();
    assert_eq!(stats.accounts.unwrap().created, USERS as i64);
    assert_eq!(stats.access.unwrap().created, USERS as i64);
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
    assert_eq!(fetched.account_count, USERS as i64);
}

#[tokio::test]
async fn a_renamed_and_moved_user_stays_the_same_account() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    directory
        .ldif("dn: ou=staff,{base}\nobjectClass: organizationalUnit\nou: staff\n")
        .await;
    let (integration, _) = synced(&app, directory.create_request("directory")).await;
    let before = accounts(&app, &integration, false).await;

    directory
        .ldif(
            "dn: uid=alice,ou=people,{base}
changetype: modrdn
newrdn: uid=alicia
deleteoldrdn: 1
newsuperior: ou=staff,{base}
",
        )
        .await;
    let run = sync_again(&app, &integration, false, true).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let stats = run.stats.unwrap().accounts.unwrap();
    assert_eq!(
        (stats.created, stats.updated, stats.deleted),
        (0, 1, 0),
        "renamed, not replaced"
    );
    let after = accounts(&app, &integration, false).await;
    let alicia = after.iter().find(|a| a.username == "alicia").unwrap();
    let alice = before.iter().find(|a| a.username == "alice").unwrap();
    assert_eq!(alicia.id, alice.id);
    assert_eq!(alicia.user_id, alice.user_id);
    let new_dn = format!("uid=alicia,ou=staff,{}", directory.base);
    assert_eq!(attribute(alicia, "dn"), [new_dn.as_str()]);
    assert_eq!(after.len(), 3);
}

#[tokio::test]
async fn a_deleted_group_is_soft_deleted() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    directory
        .ldif(
            "
dn: cn=stays,ou=groups,{base}
objectClass: groupOfNames
cn: stays
member: uid=alice,ou=people,{base}

dn: cn=goes,ou=groups,{base}
objectClass: groupOfNames
cn: goes
member: uid=bob,ou=people,{base}
",
        )
        .await;
    let (integration, _) = synced(&app, directory.create_request("directory")).await;
    directory
        .ldif("dn: cn=goes,ou=groups,{base}\nchangetype: delete\n")
        .await;
    let run = sync_again(&app, &integration, false, true).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert_eq!(run.stats.unwrap().resources.unwrap().deleted, 1);

    let live = resources(&app, &integration, false).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].name, "stays");
    let all = resources(&app, &integration, true).await;
    let gone = all.iter().find(|r| r.name == "goes").expect("kept");
    assert!(gone.deleted && gone.deleted_at.is_some());
    assert_eq!(
        memberships(&app, &integration).await,
        [pair("stays", "alice")]
    );
}

#[tokio::test]
async fn an_unreadable_user_is_a_sync_error_and_the_others_sync() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    // A JPEG is not UTF-8 text; an inetOrgPerson may lack a uid.
    directory
        .ldif(
            "
dn: uid=photo,ou=people,{base}
objectClass: inetOrgPerson
uid: photo
cn: Has A Photo
sn: Photo
jpegPhoto:: /9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP8=

dn: cn=nameless,ou=people,{base}
objectClass: inetOrgPerson
cn: nameless
sn: Nameless
",
        )
        .await;
    let mut request = directory.create_request("directory");
    request
        .config
        .insert("user_attributes".into(), "cn,title,jpegPhoto".into());
    let (integration, run) = synced(&app, request).await;
    let stats = run.stats.unwrap();
    assert_eq!(stats.errors, 2);
    assert_eq!(stats.accounts.unwrap().created, 3);
    let usernames: Vec<String> = accounts(&app, &integration, false)
        .await
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(usernames, ["alice", "bob", "carol"]);

    #[derive(diesel::QueryableByName, Debug)]
    struct Problem {
        #[diesel(sql_type = diesel::sql_types::Text)]
        object: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        message: String,
    }
    let problems: Vec<Problem> = diesel::sql_query(
        "SELECT object, message FROM sync_errors WHERE integration_id = $1::uuid ORDER BY object",
    )
    .bind::<diesel::sql_types::Text, _>(&integration.id)
    .load(&mut app.conn().await)
    .await
    .unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    let base = &directory.base;
    assert_eq!(
        problems[0].object,
        format!("account:cn=nameless,ou=people,{base}")
    );
    assert!(problems[0].message.contains("has no uid"), "{problems:?}");
    assert_eq!(
        problems[1].object,
        format!("account:uid=photo,ou=people,{base}")
    );
    assert!(problems[1].message.contains("jpegPhoto"), "{problems:?}");
    assert!(problems[1].message.contains("UTF-8"), "{problems:?}");
}

/// Every access pair the connector lists.
async fn listed_access(connector: &dyn Connector) -> Vec<RemoteAccess> {
    let pages: Vec<Vec<Listed<RemoteAccess>>> =
        connector.list_access().try_collect().await.unwrap();
    pages
        .into_iter()
        .flatten()
        .map(|pair| pair.expect("readable"))
        .collect()
}

async fn drain<T>(stream: PageStream<'_, T>) -> usize {
    let pages: Vec<Vec<Listed<T>>> = stream.try_collect().await.unwrap();
    pages.iter().map(Vec::len).sum()
}

#[tokio::test]
async fn push_adds_and_removes_members_by_each_membership_attribute_idempotently() {
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    directory
        .ldif(
            "
dn: cn=names,ou=groups,{base}
objectClass: groupOfNames
cn: names
member: uid=bob,ou=people,{base}

dn: cn=unique,ou=groups,{base}
objectClass: groupOfUniqueNames
cn: unique
uniqueMember: uid=bob,ou=people,{base}

dn: cn=posix,ou=groups,{base}
objectClass: posixGroup
cn: posix
gidNumber: 5002
",
        )
        .await;
    let connector = directory.connector(&[]);
    let alice_dn = format!("uid=alice,ou=people,{}", directory.base);
    let alice = directory.entry_uuid(&alice_dn).await;
    for (group, attribute, alice_value) in [
        ("names", "member", alice_dn.as_str()),
        ("unique", "uniqueMember", alice_dn.as_str()),
        ("posix", "memberUid", "alice"),
    ] {
        let dn = format!("cn={group},ou=groups,{}", directory.base);
        let uuid = directory.entry_uuid(&dn).await;
        let before = directory.values(&dn, attribute).await;
        for _ in 0..2 {
            connector.add_member(&uuid, &alice).await.expect("add");
        }
        let mut expected = before.clone();
        expected.push(alice_value.to_string());
        assert_eq!(directory.values(&dn, attribute).await, expected, "{group}");
        for _ in 0..2 {
            connector
                .remove_member(&uuid, &alice)
                .await
                .expect("remove");
        }
        assert_eq!(directory.values(&dn, attribute).await, before, "{group}");
    }

    let missing = connector
        .add_member("00000000-0000-0000-0000-000000000000", &alice)
        .await;
    assert!(
        matches!(&missing, Err(ConnectorError::Remote(m)) if m.contains("no longer exists")),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_created_group_keeps_the_bind_dn_only_while_it_has_no_member() {
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    let groups = directory.groups();
    let connector = directory.connector(&[("group_base", groups.as_str())]);
    let created = connector
        .create_resource("Project X, phase 1")
        .await
        .expect("create");
    assert_eq!(
        (created.resource_type.as_str(), created.name.as_str()),
        ("group", "Project X, phase 1")
    );
    let dn = format!("cn=Project X\\2C phase 1,{groups}");
    assert_eq!(directory.entry_uuid(&dn).await, created.external_id);
    assert_eq!(directory.values(&dn, "member").await, [BIND_DN]);
    assert!(
        listed_access(connector.as_ref()).await.is_empty(),
        "the placeholder is no member"
    );
    assert_eq!(drain(connector.list_resources()).await, 1);

    let alice_dn = format!("uid=alice,ou=people,{}", directory.base);
    let alice = directory.entry_uuid(&alice_dn).await;
    let bob_dn = format!("uid=bob,ou=people,{}", directory.base);
    let bob = directory.entry_uuid(&bob_dn).await;
    connector
        .add_member(&created.external_id, &alice)
        .await
        .unwrap();
    assert_eq!(directory.values(&dn, "member").await, [alice_dn.as_str()]);
    connector
        .add_member(&created.external_id, &bob)
        .await
        .unwrap();
    connector
        .remove_member(&created.external_id, &alice)
        .await
        .unwrap();
    connector
        .remove_member(&created.external_id, &bob)
        .await
        .unwrap();
    assert_eq!(
        directory.values(&dn, "member").await,
        [BIND_DN],
        "back to the placeholder when the last member goes"
    );
    connector
        .remove_member(&created.external_id, &bob)
        .await
        .unwrap();

    // A sync's listings after the accounts listing resolve members through its index.
    connector
        .add_member(&created.external_id, &bob)
        .await
        .unwrap();
    assert_eq!(drain(connector.list_accounts()).await, 3);
    let access = listed_access(connector.as_ref()).await;
    assert_eq!(access.len(), 1);
    assert_eq!(
        (
            access[0].resource_external_id.as_str(),
            access[0].account_external_id.as_str()
        ),
        (created.external_id.as_str(), bob.as_str())
    );

    let again = connector.create_resource("Project X, phase 1").await;
    assert!(
        matches!(&again, Err(ConnectorError::Remote(m)) if m.contains("already exists")),
        "{again:?}"
    );
}
