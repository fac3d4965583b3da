//! Identity links against a real OpenLDAP slapd: which Oblique user an account belongs to is
//! decided by the integration's `link_users_by` and re-checked every sync; an email two entries
//! claim, or one that changed owner, holds the link, and nothing that gives access is pushed to a
//! held account until a sync finds the conflict gone.
//!
//! This module holds the shared fixtures; `held` covers the conflicts, `policies` the choices.

mod held;
mod policies;

use oblique::pb::{self, SyncRunState};

use crate::harness::TestApp;
use crate::harness::calls::{resource, set_mode, sync, synced};
use crate::harness::slapd::Directory;

pub(super) const PEOPLE: &str = "
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
pub(super) async fn add_person(directory: &Directory, uid: &str, mail: &str) {
    directory
        .ldif(&format!(
            "dn: uid={uid},ou=people,{{base}}\nobjectClass: inetOrgPerson\nuid: {uid}\n\
             cn: {uid}\nsn: {uid}\nmail: {mail}\n"
        ))
        .await;
}

pub(super) async fn set_mail(directory: &Directory, uid: &str, mail: &str) {
    directory
        .ldif(&format!(
            "dn: uid={uid},ou=people,{{base}}\nchangetype: modify\nreplace: mail\nmail: {mail}\n"
        ))
        .await;
}

/// The uids in the group's `member` values on the server, sorted.
pub(super) async fn member_uids(directory: &Directory, cn: &str) -> Vec<String> {
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

pub(super) fn account<'a>(accounts: &'a [pb::Account], username: &str) -> &'a pb::Account {
    accounts
        .iter()
        .find(|a| a.username == username)
        .unwrap_or_else(|| panic!("no account {username} in {accounts:?}"))
}

/// The directory's integration, synced once, with `readers` in push mode (bob adopted).
pub(super) async fn pushing(
    app: &TestApp,
    directory: &Directory,
) -> (pb::Integration, pb::Resource) {
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

pub(super) async fn synced_again(app: &TestApp, integration: &pb::Integration) -> pb::SyncRun {
    let run = sync(app, integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    run
}
