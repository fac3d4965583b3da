//! What a sync pulls from Active Directory with the setup left to its defaults: users (not
//! computers) known by objectGUID, a disabled account shown as such, groups and their members;
//! a renamed and moved user stays the same account; search references are skipped.

use oblique::pb::SyncRunState;

use super::pair;
use crate::harness::TestApp;
use crate::harness::calls::{accounts, attribute, memberships, resources, sync_again, synced};
use crate::harness::samba::Domain;

#[tokio::test]
async fn an_ad_sync_brings_users_by_guid_with_their_flags_groups_and_members() {
    let app = TestApp::spawn().await;
    let domain = Domain::new().await;
    let p = domain.prefix();
    let (ann, bob) = (format!("{p}ann"), format!("{p}bob"));
    let disabled_bob = domain
        .user_ldif(&bob)
        .replace("userAccountControl: 544", "userAccountControl: 514");
    let computer = format!(
        "dn: CN={p}pc,{}\nobjectClass: computer\nsAMAccountName: {p}pc$\n\n",
        domain.people()
    );
    let group = domain.group_ldif(
        &format!("{p}eng"),
        &[domain.user_dn(&ann), domain.user_dn(&bob)],
    );
    domain
        .ldif(&format!(
            "{}{disabled_bob}{computer}{group}",
            domain.user_ldif(&ann)
        ))
        .await;

    let (integration, run) = synced(&app, domain.create_request("ad")).await;
    assert_eq!(integration.config["id_attribute"], "objectGUID", "detected");
    assert_eq!(
        integration.config["user_filter"],
        "(&(objectCategory=person)(objectClass=user))"
    );
    assert_eq!(integration.config["group_filter"], "(objectClass=group)");
    assert_eq!(integration.config["username_attribute"], "sAMAccountName");
    let stats = run.stats.unwrap();
    assert_eq!(stats.errors, 0, "{stats:?}");
    assert_eq!(
        stats.accounts.unwrap().created,
        2,
        "the computer is left out"
    );

    let listed = accounts(&app, &integration, false).await;
    let usernames: Vec<&str> = listed.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(usernames, [ann.as_str(), bob.as_str()]);
    let (ann_account, bob_account) = (&listed[0], &listed[1]);
    assert_eq!(
        ann_account.external_id,
        domain.guid(&domain.user_dn(&ann)).await,
        "known by objectGUID in canonical form"
    );
    assert_eq!(ann_account.email, format!("{ann}@example.org"));
    let upn = format!("{ann}@example.org");
    assert_eq!(attribute(ann_account, "userPrincipalName"), [upn.as_str()]);
    assert_eq!(attribute(ann_account, "disabled"), ["false"]);
    assert_eq!(attribute(ann_account, "locked_out"), ["false"]);
    assert_eq!(attribute(bob_account, "disabled"), ["true"]);

    let resources = resources(&app, &integration, false).await;
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(
        resources[0].external_id,
        domain.guid(&domain.group_dn(&format!("{p}eng"))).await
    );
    assert_eq!(
        memberships(&app, &integration).await,
        [
            pair(&format!("{p}eng"), &ann),
            pair(&format!("{p}eng"), &bob)
        ]
    );

    // Renamed and moved: the same objectGUID, so the same account.
    domain
        .ldif(&format!(
            "dn: {}\nchangetype: modrdn\nnewrdn: CN={p}anna\ndeleteoldrdn: 1\nnewsuperior: {}\n\n\
             dn: CN={p}anna,{}\nchangetype: modify\nreplace: sAMAccountName\nsAMAccountName: {p}anna\n",
            domain.user_dn(&ann),
            domain.groups(),
            domain.groups()
        ))
        .await;
    let run = sync_again(&app, &integration, false, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let stats = run.stats.unwrap().accounts.unwrap();
    assert_eq!((stats.created, stats.updated, stats.deleted), (0, 1, 0));
    let after = accounts(&app, &integration, false).await;
    let anna = after
        .iter()
        .find(|a| a.username == format!("{p}anna"))
        .expect("renamed");
    assert_eq!(anna.id, ann_account.id);
    let new_dn = format!("CN={p}anna,{}", domain.groups());
    assert_eq!(attribute(anna, "dn"), [new_dn.as_str()]);
    assert_eq!(
        memberships(&app, &integration).await,
        [
            pair(&format!("{p}eng"), &format!("{p}anna")),
            pair(&format!("{p}eng"), &bob)
        ]
    );
}

/// Searching from the domain's root, AD answers with references to its other naming contexts
/// (`ldap://example.org/CN=Configuration,…`): they are skipped, never an error.
#[tokio::test]
async fn search_references_from_the_domain_root_are_skipped() {
    let app = TestApp::spawn().await;
    let domain = Domain::new().await;
    let p = domain.prefix();
    let ann = format!("{p}ann");
    let group = domain.group_ldif(&format!("{p}root"), &[domain.user_dn(&ann)]);
    domain
        .ldif(&format!("{}{group}", domain.user_ldif(&ann)))
        .await;
    let mut request = domain.create_request("from the root");
    let filter = format!("(&(objectClass=group)(cn={p}*))");
    for (key, value) in [
        ("group_base", oblique_testkit::samba::SUFFIX),
        ("group_filter", filter.as_str()),
    ] {
        request.config.insert(key.into(), value.into());
    }
    let (integration, run) = synced(&app, request).await;
    assert_eq!(run.stats.unwrap().errors, 0);
    assert_eq!(
        memberships(&app, &integration).await,
        [pair(&format!("{p}root"), &ann)]
    );
}
