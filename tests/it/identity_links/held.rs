//! Contradicted links are held: no add reaches the account until a sync finds them gone.

use oblique::pb;

use super::{PEOPLE, account, add_person, member_uids, pushing, set_mail, synced_again};
use crate::harness::calls::{access_of, accounts, grant, run_messages, synced, user_of, wait_idle};
use crate::harness::slapd::Directory;
use crate::harness::{TestApp, eventually};

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
