use std::collections::BTreeMap;

use super::*;

fn pairs<Map: FromIterator<(String, String)>>(pairs: &[(&str, &str)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn setup(extra: &[(&str, &str)]) -> Result<Setup, ConnectorError> {
    let mut config: BTreeMap<String, String> = pairs(&[
        ("url", "ldaps://dir.internal:636"),
        ("bind_dn", "cn=oblique,dc=example,dc=org"),
        ("base_dn", "dc=example,dc=org"),
    ]);
    config.extend(pairs::<BTreeMap<_, _>>(extra));
    let credentials = pairs(&[("bind_password", " pw with spaces ")]);
    Setup::check(SETUP_FIELDS, config, credentials)
}

fn read(extra: &[(&str, &str)]) -> Result<LdapSettings, ConnectorError> {
    LdapSettings::from_setup(&setup(extra)?)
}

#[track_caller]
fn assert_invalid(extra: &[(&str, &str)], expected: &str) {
    match read(extra) {
        Err(ConnectorError::InvalidSetup { field, .. }) => assert_eq!(field, expected),
        other => panic!("expected InvalidSetup on {expected}, got {other:?}"),
    }
}

#[test]
fn fills_the_defaults() {
    let read = read(&[]).unwrap();
    assert_eq!(read.url, "ldaps://dir.internal:636");
    assert!(!read.starttls && !read.allow_plaintext && read.ca_cert.is_none());
    assert_eq!(read.bind_password.expose_secret(), " pw with spaces ");
    assert_eq!(read.user_base, "dc=example,dc=org");
    assert_eq!(read.group_base, "dc=example,dc=org");
    assert_eq!(read.user_filter, "(objectClass=inetOrgPerson)");
    assert_eq!(read.group_filter, DEFAULT_GROUP_FILTER);
    assert_eq!(read.username_attribute, "uid");
    assert_eq!(read.email_attribute, "mail");
    assert_eq!(
        read.user_attributes,
        [
            "cn",
            "givenName",
            "sn",
            "title",
            "departmentNumber",
            "employeeType",
            "manager",
            "telephoneNumber"
        ]
    );
    assert_eq!(read.page_size, 500);
    assert_eq!(read.timeout, Duration::from_secs(30));
}

#[test]
fn reads_what_the_caller_set() {
    let settings = read(&[
        ("url", "ldaps://dir.internal/"),
        ("user_base", "ou=people,dc=example,dc=org"),
        ("group_base", "ou=groups,dc=example,dc=org"),
        (
            "user_filter",
            "(&(objectClass=person)(!(loginDisabled=TRUE)))",
        ),
        ("username_attribute", "sAMAccountName"),
        ("user_attributes", " title , cn;lang-de,, Title ,2.5.4.4"),
        ("page_size", "1000"),
        ("timeout", "5"),
    ])
    .unwrap();
    assert_eq!(settings.user_base, "ou=people,dc=example,dc=org");
    assert_eq!(settings.group_base, "ou=groups,dc=example,dc=org");
    assert_eq!(settings.username_attribute, "sAMAccountName");
    assert_eq!(settings.user_attributes, ["title", "cn;lang-de", "2.5.4.4"]);
    assert_eq!((settings.page_size, settings.timeout.as_secs()), (1000, 5));
    let starttls = [("url", "ldap://dir.internal"), ("starttls", "TRUE")];
    assert!(read(&starttls).unwrap().starttls);
    let plaintext = [("url", "ldap://dir.internal"), ("allow_plaintext", "true")];
    assert!(read(&plaintext).unwrap().allow_plaintext);
    let ca = oblique_testkit::pki::TestCa::new("directory CA");
    assert!(read(&[("ca_cert", &ca.pem())]).unwrap().ca_cert.is_some());
}

#[test]
fn plain_ldap_needs_starttls_or_allow_plaintext() {
    match read(&[("url", "ldap://dir.internal")]) {
        Err(ConnectorError::InvalidSetup { field, message }) => {
            assert_eq!(field, "config.url");
            assert!(
                message.contains("ldaps://") && message.contains("allow_plaintext"),
                "{message}"
            );
        }
        other => panic!("plain ldap:// accepted: {other:?}"),
    }
    let warnings = |extra: &[(&str, &str)]| setup_warnings(&setup(extra).unwrap());
    let plaintext = [("url", "ldap://dir.internal"), ("allow_plaintext", "true")];
    let warned = warnings(&plaintext);
    assert!(
        warned.len() == 1 && warned[0].starts_with("allow_plaintext is set"),
        "{warned:?}"
    );
    let starttls = [
        ("url", "ldap://dir.internal"),
        ("starttls", "true"),
        ("allow_plaintext", "true"),
    ];
    assert!(warnings(&starttls).is_empty());
    assert!(warnings(&[]).is_empty());
}

#[test]
fn names_the_field_at_fault() {
    assert_invalid(&[("url", "http://dir")], "config.url");
    assert_invalid(&[("url", "ldapi:///var/run/slapd.sock")], "config.url");
    assert_invalid(&[("url", "ldap://")], "config.url");
    assert_invalid(&[("url", "ldap://dir/dc=example,dc=org?uid")], "config.url");
    assert_invalid(&[("starttls", "yes")], "config.starttls");
    assert_invalid(&[("allow_plaintext", "1")], "config.allow_plaintext");
    assert_invalid(&[("ca_cert", "not PEM")], "config.ca_cert");
    assert_invalid(
        &[("url", "ldaps://dir"), ("starttls", "true")],
        "config.starttls",
    );
    assert_invalid(
        &[("user_filter", "objectClass=person)")],
        "config.user_filter",
    );
    assert_invalid(&[("group_filter", "(cn=a")], "config.group_filter");
    assert_invalid(
        &[("username_attribute", "uid)(x=*")],
        "config.username_attribute",
    );
    assert_invalid(&[("email_attribute", "-mail")], "config.email_attribute");
    assert_invalid(&[("user_attributes", "cn,dn")], "config.user_attributes");
    assert_invalid(&[("user_attributes", "cn,a b")], "config.user_attributes");
    for size in ["0", "-1", "10001", "many"] {
        assert_invalid(&[("page_size", size)], "config.page_size");
    }
    assert_invalid(&[("timeout", "0")], "config.timeout");
    assert_invalid(&[("timeout", "1.5")], "config.timeout");

    let no_password = Setup::check(
        SETUP_FIELDS,
        pairs(&[
            ("url", "ldap://d"),
            ("bind_dn", "cn=a"),
            ("base_dn", "dc=b"),
        ]),
        pairs(&[]),
    );
    assert!(matches!(
        no_password,
        Err(ConnectorError::InvalidSetup { field, .. }) if field == "credentials.bind_password"
    ));
}
