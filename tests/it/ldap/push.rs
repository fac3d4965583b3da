//! Connector-level pushes: adding and removing members by each membership attribute, and groups
//! created by the connector, which keep the bind DN as a placeholder while they have no member.

use futures::TryStreamExt;
use oblique::connectors::{
    Connector, ConnectorError, Listed, PageStream, RemoteAccess, RemoteAccount,
};

use super::PEOPLE;
use crate::harness::slapd::{BIND_DN, Directory};

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

    // The access listing names bob by his DN, the name the accounts listing gives him (the
    // engine matches the two in staging).
    connector
        .add_member(&created.external_id, &bob)
        .await
        .unwrap();
    let access = listed_access(connector.as_ref()).await;
    assert_eq!(access.len(), 1);
    assert!(access[0].by_member_name, "{access:?}");
    assert_eq!(access[0].resource_external_id, created.external_id);
    let pages: Vec<Vec<Listed<RemoteAccount>>> =
        connector.list_accounts().try_collect().await.unwrap();
    let named: Vec<String> = pages
        .into_iter()
        .flatten()
        .map(|account| account.expect("readable"))
        .filter(|account| {
            account
                .member_names
                .contains(&access[0].account_external_id)
        })
        .map(|account| account.external_id)
        .collect();
    assert_eq!(named, [bob]);

    let again = connector.create_resource("Project X, phase 1").await;
    assert!(
        matches!(&again, Err(ConnectorError::Remote(m)) if m.contains("already exists")),
        "{again:?}"
    );
}

/// A group of that cn elsewhere under the group base (another OU) takes the name too: the DN
/// would differ, so only a search of the whole base finds it.
#[tokio::test]
async fn a_name_taken_by_a_group_in_another_ou_under_the_base_is_refused() {
    let directory = Directory::new().await;
    directory
        .ldif(&format!(
            "dn: ou=other,ou=groups,{{base}}\nobjectClass: organizationalUnit\nou: other\n\n\
             dn: cn=platform,ou=other,ou=groups,{{base}}\nobjectClass: groupOfNames\ncn: platform\n\
             member: {BIND_DN}\n"
        ))
        .await;
    let groups = directory.groups();
    let connector = directory.connector(&[("group_base", groups.as_str())]);
    let before = directory.search("{base}", "sub", &["*"]).await;
    let again = connector.create_resource("platform").await;
    assert!(
        matches!(&again, Err(ConnectorError::Remote(m)) if m.contains("already exists")),
        "{again:?}"
    );
    assert_eq!(
        directory.search("{base}", "sub", &["*"]).await,
        before,
        "nothing created"
    );
}
