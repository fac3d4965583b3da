use std::time::Duration;

use super::*;
use crate::connectors::ldap::dn;
use crate::connectors::ldap::entry::tests::entry;
use crate::connectors::ldap::identity::IdAttribute;

pub(in crate::connectors::ldap) fn settings() -> LdapSettings {
    LdapSettings {
        url: "ldap://dir".into(),
        starttls: false,
        ca_cert: None,
        allow_plaintext: true,
        bind_dn: "cn=oblique,dc=example,dc=org".into(),
        bind_password: "pw".into(),
        base_dn: "dc=example,dc=org".into(),
        user_base: "dc=example,dc=org".into(),
        group_base: "dc=example,dc=org".into(),
        user_filter: "(objectClass=inetOrgPerson)".into(),
        group_filter: "(objectClass=groupOfNames)".into(),
        username_attribute: "uid".into(),
        email_attribute: "mail".into(),
        user_attributes: vec!["title".into(), "cn".into()],
        page_size: 2,
        timeout: Duration::from_secs(1),
        id_attribute: IdAttribute::EntryUuid,
        expand_nested_groups: false,
    }
}

const UUID: &[u8] = b"5f9c1a52-0000-4000-8000-000000000001";

#[test]
fn reads_an_account() {
    let ann = entry(
        b"uid=ann,ou=people,dc=example,dc=org",
        &[
            ("entryUUID", &[UUID]),
            ("uid", &[b"ann"]),
            ("mail", &[b"ann@example.org", b"a@example.org"]),
            ("cn", &[b"Ann Smith", b"Annie"]),
            ("title", &[b"Engineer", b"Author"]),
        ],
    );
    let account = read_account(&ann, &settings()).unwrap();
    assert_eq!(account.external_id.as_bytes(), UUID);
    assert_eq!(account.username, "ann");
    assert_eq!(account.email.as_deref(), Some("ann@example.org"));
    assert_eq!(account.display_name, "Ann Smith");
    assert_eq!(
        account.attributes,
        [
            (
                "dn".to_string(),
                vec!["uid=ann,ou=people,dc=example,dc=org".to_string()]
            ),
            (
                "title".to_string(),
                vec!["Engineer".into(), "Author".into()]
            ),
            ("cn".to_string(), vec!["Ann Smith".into(), "Annie".into()]),
        ]
    );
}

#[test]
fn a_malformed_account_is_a_problem_naming_it() {
    let nameless = entry(b"cn=x,dc=example,dc=org", &[("entryUUID", &[UUID])]);
    let problem = read_account(&nameless, &settings()).unwrap_err();
    assert_eq!(problem.object, "account:cn=x,dc=example,dc=org");
    assert_eq!(
        problem.external_id.as_deref().map(str::as_bytes),
        Some(UUID)
    );
    assert!(
        problem.message.contains("has no uid"),
        "{}",
        problem.message
    );

    let binary = entry(
        b"uid=b,dc=example,dc=org",
        &[
            ("entryUUID", &[UUID]),
            ("uid", &[b"b"]),
            ("title", &[b"\xff"]),
        ],
    );
    let problem = read_account(&binary, &settings()).unwrap_err();
    assert!(problem.message.contains("title"), "{}", problem.message);

    let anonymous = entry(b"uid=c,dc=example,dc=org", &[("uid", &[b"c"])]);
    let problem = read_account(&anonymous, &settings()).unwrap_err();
    assert_eq!(problem.external_id, None);
}

#[test]
fn an_active_directory_account_shows_its_flags_and_guid() {
    let mut settings = settings();
    settings.id_attribute = IdAttribute::ObjectGuid;
    settings.username_attribute = "sAMAccountName".into();
    let guid: &[u8] = &[0xff; 16];
    let disabled = entry(
        b"CN=Ann,CN=Users,DC=example,DC=org",
        &[
            ("objectGUID", &[guid]),
            ("sAMAccountName", &[b"ann"]),
            ("userAccountControl", &[b"514"]),
        ],
    );
    let account = read_account(&disabled, &settings).unwrap();
    assert_eq!(account.external_id, "ffffffff-ffff-ffff-ffff-ffffffffffff");
    let flags: Vec<_> = account.attributes[1..].to_vec();
    assert_eq!(
        flags,
        [
            ("disabled".to_string(), vec!["true".to_string()]),
            ("locked_out".to_string(), vec!["false".to_string()]),
        ]
    );
    assert!(account_attributes(&settings).contains(&"userAccountControl".to_string()));
    assert!(
        !account_attributes(&super::tests::settings()).contains(&"userAccountControl".to_string())
    );
}

/// A group names its members by DN (in any case and spacing) or by username (memberUid, in
/// any case): an account is listed with both names as the engine matches them.
#[test]
fn an_account_is_listed_with_its_dn_and_username_as_member_names() {
    let ann = entry(
        b"uid=Ann,ou=People,dc=example,dc=org",
        &[("entryUUID", &[b"u-ann"]), ("uid", &[b"Ann"])],
    );
    let account = read_account(&ann, &settings()).unwrap();
    let as_member = dn::normalize("UID=ann, ou=people,DC=example,dc=org");
    assert_eq!(
        account.member_names,
        [dn_member_name(&as_member), uid_member_name("ANN")]
    );
}
