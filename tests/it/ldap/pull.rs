//! What the initial sync pulls from the directory: users and their attributes, groups, and
//! memberships by member, uniqueMember and memberUid; and unreadable users as sync errors.

use diesel_async::RunQueryDsl;

use super::{PEOPLE, attribute, pair};
use crate::harness::TestApp;
use crate::harness::calls::{accounts, memberships, resources, run_messages, sync_again, synced};
use crate::harness::slapd::Directory;

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

    // A later sync matches members to users in staging, not in the first sync's memory: the
    // same directory changes nothing, and a membership changed by DN and by memberUid shows.
    let again = sync_again(&app, &integration, false, false).await;
    let access = again.stats.unwrap().access.unwrap();
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (0, 0, 5)
    );
    directory
        .ldif(
            "
dn: cn=engineering,ou=groups,{base}
changetype: modify
delete: member
member: uid=alice,ou=people,{base}

dn: cn=developers,ou=groups,{base}
changetype: modify
add: memberUid
memberUid: CAROL
",
        )
        .await;
    let changed = sync_again(&app, &integration, false, false).await;
    let access = changed.stats.unwrap().access.unwrap();
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (1, 1, 4)
    );
    assert_eq!(
        memberships(&app, &integration).await,
        [
            pair("auditors", "bob"),
            pair("auditors", "carol"),
            pair("developers", "alice"),
            pair("developers", "carol"),
            pair("engineering", "bob"),
        ]
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
