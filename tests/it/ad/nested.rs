//! Nested groups with `expand_nested_groups`: the users of member groups (at any depth) have
//! access too, marked inherited (ACCESS_SOURCE_REMOTE_INHERITED), computed by AD itself
//! (LDAP_MATCHING_RULE_IN_CHAIN). Inherited access is never pushed: a push-mode group keeps a
//! member it holds only through a member group, and does not adopt it as its own.

use oblique::pb;

use super::pair;
use crate::harness::TestApp;
use crate::harness::calls::{
    access_of, memberships, resource, set_mode, sync_again, synced, user_of,
};
use crate::harness::samba::Domain;

#[tokio::test]
async fn members_of_member_groups_are_inherited_and_never_pushed() {
    let app = TestApp::spawn().await;
    let domain = Domain::new().await;
    let p = domain.prefix();
    let (ann, bob, cid) = (format!("{p}ann"), format!("{p}bob"), format!("{p}cid"));
    let (all, devs, core) = (format!("{p}all"), format!("{p}devs"), format!("{p}core"));
    domain
        .ldif(&format!(
            "{}{}{}{}{}{}",
            domain.user_ldif(&ann),
            domain.user_ldif(&bob),
            domain.user_ldif(&cid),
            domain.group_ldif(&core, &[domain.user_dn(&cid)]),
            domain.group_ldif(&devs, &[domain.user_dn(&bob), domain.group_dn(&core)]),
            domain.group_ldif(&all, &[domain.user_dn(&ann), domain.group_dn(&devs)]),
        ))
        .await;
    let mut request = domain.create_request("nested");
    request
        .config
        .insert("expand_nested_groups".into(), "true".into());
    let (integration, run) = synced(&app, request).await;
    assert_eq!(run.stats.unwrap().errors, 0);
    assert_eq!(
        memberships(&app, &integration).await,
        [
            pair(&all, &ann),
            pair(&all, &bob),
            pair(&all, &cid),
            pair(&core, &cid),
            pair(&devs, &bob),
            pair(&devs, &cid),
        ]
    );
    let all_resource = resource(&app, &integration, &all).await;
    let source = |user| {
        let (app, resource) = (&app, &all_resource);
        async move {
            access_of(app, resource, user)
                .await
                .expect("access")
                .source()
        }
    };
    let (ann_user, bob_user, cid_user) = (
        user_of(&app, &integration, &ann).await,
        user_of(&app, &integration, &bob).await,
        user_of(&app, &integration, &cid).await,
    );
    assert_eq!(source(ann_user).await, pb::AccessSource::Remote);
    assert_eq!(source(bob_user).await, pb::AccessSource::RemoteInherited);
    assert_eq!(
        source(cid_user).await,
        pb::AccessSource::RemoteInherited,
        "two levels down"
    );

    // Push mode: ann (its own member) is adopted; bob and cid stay members through devs, are
    // not adopted, and the push leaves the group's own members as they were.
    set_mode(&app, &all_resource.id, pb::SyncMode::Push).await;
    let run = sync_again(&app, &integration, false, false).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded, "{run:?}");
    let mut own = domain.values(&domain.group_dn(&all), "member").await;
    own.sort();
    let mut expected = vec![domain.user_dn(&ann), domain.group_dn(&devs)];
    expected.sort();
    assert_eq!(
        own, expected,
        "nothing added or removed on the group itself"
    );
    assert_eq!(source(ann_user).await, pb::AccessSource::RemoteAdopted);
    let bob_entry = access_of(&app, &all_resource, bob_user).await.expect("bob");
    assert_eq!(bob_entry.source(), pb::AccessSource::RemoteInherited);
    assert_eq!(
        bob_entry.propagation_status(),
        pb::PropagationStatus::InSync
    );
}
