//! Later syncs following changes in the directory: a renamed and moved user keeps its account,
//! and a deleted group is soft-deleted.

use oblique::pb::SyncRunState;

use super::{PEOPLE, attribute, pair};
use crate::harness::TestApp;
use crate::harness::calls::{accounts, memberships, resources, sync_again, synced};
use crate::harness::slapd::Directory;

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
