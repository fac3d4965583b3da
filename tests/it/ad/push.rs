//! Pushing into Active Directory, connector-level: members added and removed by DN, each twice
//! (AD's "already a member" and "not a member" answers read as success); a team's group created
//! as an empty global security group and filled; a name taken anywhere under the group base
//! refused.

use crate::harness::samba::Domain;

/// The group's member values, sorted.
async fn members(domain: &Domain, dn: String) -> Vec<String> {
    let mut values = domain.values(&dn, "member").await;
    values.sort();
    values
}

#[tokio::test]
async fn members_are_added_and_removed_idempotently_and_a_team_group_is_created_and_filled() {
    let domain = Domain::new().await;
    let p = domain.prefix();
    let (ann, bob) = (format!("{p}ann"), format!("{p}bob"));
    let staff = format!("{p}staff");
    domain
        .ldif(&format!(
            "{}{}{}",
            domain.user_ldif(&ann),
            domain.user_ldif(&bob),
            domain.group_ldif(&staff, &[domain.user_dn(&bob)])
        ))
        .await;
    let connector = domain.connector(&[("group_base", &domain.groups())]).await;
    let ann_id = domain.guid(&domain.user_dn(&ann)).await;
    let staff_dn = domain.group_dn(&staff);
    let staff_id = domain.guid(&staff_dn).await;

    for _ in 0..2 {
        connector.add_member(&staff_id, &ann_id).await.expect("add");
    }
    let mut both = vec![domain.user_dn(&ann), domain.user_dn(&bob)];
    both.sort();
    assert_eq!(members(&domain, staff_dn.clone()).await, both);
    for _ in 0..2 {
        connector
            .remove_member(&staff_id, &ann_id)
            .await
            .expect("remove");
    }
    assert_eq!(
        members(&domain, staff_dn.clone()).await,
        [domain.user_dn(&bob)]
    );

    // A team's group: a global security group, empty (no placeholder), then filled.
    let team = format!("{p}team");
    let created = connector.create_resource(&team).await.expect("created");
    let team_dn = domain.group_dn(&team);
    assert_eq!(created.external_id, domain.guid(&team_dn).await);
    assert_eq!(domain.values(&team_dn, "groupType").await, ["-2147483646"]);
    assert_eq!(
        domain.values(&team_dn, "sAMAccountName").await,
        [team.as_str()]
    );
    assert!(domain.values(&team_dn, "member").await.is_empty());
    connector
        .add_member(&created.external_id, &ann_id)
        .await
        .expect("filled");
    assert_eq!(
        members(&domain, team_dn.clone()).await,
        [domain.user_dn(&ann)]
    );
    connector
        .remove_member(&created.external_id, &ann_id)
        .await
        .expect("emptied");
    assert!(
        domain.values(&team_dn, "member").await.is_empty(),
        "AD groups may be empty"
    );

    // Taken: by the group just made, and by a group of that name in another OU under the base.
    let elsewhere = format!("{p}elsewhere");
    domain
        .ldif(&format!(
            "dn: OU=other,{groups}\nobjectClass: organizationalUnit\nou: other\n\n\
             dn: CN={elsewhere},OU=other,{groups}\nobjectClass: group\nsAMAccountName: {elsewhere}x\n",
            groups = domain.groups()
        ))
        .await;
    for name in [&team, &elsewhere] {
        let again = connector.create_resource(name).await;
        assert!(again.is_err(), "{name} is taken, yet: {again:?}");
    }
}
