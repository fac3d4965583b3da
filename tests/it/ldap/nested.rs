//! Nested groups on OpenLDAP with `expand_nested_groups`: Oblique computes the closure over
//! the groups' member DNs (cycles are fine); the users of member groups have access too,
//! marked inherited. A member DN that names no synced user is counted once, at its own group.

use super::{PEOPLE, pair};
use crate::harness::TestApp;
use crate::harness::calls::{memberships, run_messages, sync_again, synced};
use crate::harness::slapd::Directory;

#[tokio::test]
async fn members_of_member_groups_are_inherited_through_a_cycle() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    // all -> devs -> core -> all; alice is in all, bob in devs, carol and a ghost in core.
    directory
        .ldif(
            "
dn: cn=all,ou=groups,{base}
objectClass: groupOfNames
cn: all
member: uid=alice,ou=people,{base}
member: cn=devs,ou=groups,{base}

dn: cn=devs,ou=groups,{base}
objectClass: groupOfNames
cn: devs
member: UID=Bob,ou=People,{base}
member: cn=core,ou=groups,{base}

dn: cn=core,ou=groups,{base}
objectClass: groupOfNames
cn: core
member: uid=carol,ou=people,{base}
member: uid=ghost,ou=people,{base}
member: cn=all,ou=groups,{base}
",
        )
        .await;
    let mut request = directory.create_request("nested");
    request
        .config
        .insert("expand_nested_groups".into(), "true".into());
    let (integration, run) = synced(&app, request).await;
    let everyone = [
        pair("all", "alice"),
        pair("all", "bob"),
        pair("all", "carol"),
        pair("core", "alice"),
        pair("core", "bob"),
        pair("core", "carol"),
        pair("devs", "alice"),
        pair("devs", "bob"),
        pair("devs", "carol"),
    ];
    assert_eq!(memberships(&app, &integration).await, everyone);
    let messages = run_messages(&app, &run).await;
    assert!(
        messages.iter().any(|m| m.starts_with("1 memberships name")),
        "the ghost is counted once, at core: {messages:?}"
    );

    // Matched in staging this time (not in the first sync's memory): nothing changes.
    let again = sync_again(&app, &integration, false, false).await;
    let access = again.stats.unwrap().access.unwrap();
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (0, 0, 9)
    );
    assert_eq!(memberships(&app, &integration).await, everyone);
}
