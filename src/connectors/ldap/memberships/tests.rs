use super::*;
use crate::connectors::ldap::entry::tests::entry;
use crate::connectors::ldap::listing::tests::settings;

#[tokio::test]
async fn members_are_named_by_dn_and_username_and_the_placeholder_is_skipped() {
    let settings = settings();
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
            ("memberUid", &[b"Ann", b"nobody"]),
        ],
    );
    let placeholder = Some(dn::normalize(&settings.bind_dn));
    // Not connected: only Active Directory reads more from the server here.
    let (mut ldap, _conn) = unconnected().await;
    let members = members(&mut ldap, &settings, &group, &placeholder)
        .await
        .unwrap();
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let ann = dn::normalize("uid=ann,ou=people,dc=example,dc=org");
    let ghost = dn::normalize("uid=ghost,dc=example,dc=org");
    assert_eq!(
        names,
        [
            dn_member_name(&ann),
            dn_member_name(&ghost),
            uid_member_name("ann"),
            uid_member_name("nobody")
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
