use super::*;
use crate::connectors::ldap::entry::tests::entry;
use crate::connectors::ldap::listing::tests::settings;

fn member(account: &str, resolved: bool, dn: Option<&str>) -> Member {
    Member {
        account: account.to_string(),
        resolved,
        dn_key: dn.map(dn::normalize),
    }
}

#[tokio::test]
async fn memberships_resolve_by_dn_and_username_and_skip_the_placeholder() {
    let settings = settings();
    let mut index = UserIndex::default();
    let ann = entry(
        b"uid=ann,ou=people,dc=example,dc=org",
        &[("entryUUID", &[b"u-ann"]), ("uid", &[b"Ann"])],
    );
    index.insert(&ann, &settings);
    let group = entry(
        b"cn=g,dc=example,dc=org",
        &[
            ("entryUUID", &[b"g-1"]),
            (
                "member",
                &[
                    b"uid=Ann, ou=People,dc=example,dc=org",
                    b"CN=oblique,dc=example,dc=org",
                    b"uid=ghost,dc=example,dc=org",
                ],
            ),
            ("memberUid", &[b"ann", b"nobody"]),
        ],
    );
    let placeholder = Some(dn::normalize(&settings.bind_dn));
    // Not connected: only Active Directory reads more from the server here.
    let (mut ldap, _conn) = unconnected().await;
    let members = members(&mut ldap, &settings, &group, &index, &placeholder)
        .await
        .unwrap();
    let accounts: Vec<(&str, bool)> = members
        .iter()
        .map(|m| (m.account.as_str(), m.resolved))
        .collect();
    assert_eq!(
        accounts,
        [
            ("u-ann", true),
            ("uid=ghost,dc=example,dc=org", false),
            ("u-ann", true),
            ("nobody", false)
        ]
    );
}

/// An ldap3 handle whose connection is never driven.
async fn unconnected() -> (ldap3::Ldap, tokio::net::TcpListener) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ldap://{}", listener.local_addr().unwrap());
    let (_conn, ldap) = ldap3::LdapConnAsync::new(&url).await.unwrap();
    (ldap, listener)
}

#[test]
fn the_closure_follows_member_groups_through_cycles_and_keeps_direct_members_direct() {
    let mut closure = Closure::default();
    // all -> devs -> backend -> all (a cycle); ann is in all directly and in backend.
    closure.add(
        "all".into(),
        "cn=all,dc=org",
        vec![
            member("ann", true, Some("uid=ann,dc=org")),
            member("devs-dn", false, Some("cn=devs,dc=org")),
        ],
    );
    closure.add(
        "devs".into(),
        "cn=devs,dc=org",
        vec![
            member("bob", true, Some("uid=bob,dc=org")),
            member("cn=backend,dc=org", false, Some("cn=backend,dc=org")),
        ],
    );
    closure.add(
        "backend".into(),
        "cn=backend,dc=org",
        vec![
            member("ann", true, Some("uid=ann,dc=org")),
            member("carol", true, Some("uid=carol,dc=org")),
            member("ghost", false, Some("uid=ghost,dc=org")),
            member("cn=all,dc=org", false, Some("cn=all,dc=org")),
        ],
    );
    let mut all = closure.inherited(0);
    all.sort();
    assert_eq!(all, ["bob", "carol"]);
    let mut devs = closure.inherited(1);
    devs.sort();
    assert_eq!(devs, ["ann", "carol"]);
    let mut backend = closure.inherited(2);
    backend.sort();
    assert_eq!(backend, ["bob"]);
}
