use std::collections::BTreeMap;

use super::*;

fn pairs<Map: FromIterator<(String, String)>>(pairs: &[(&str, &str)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn setup(config: &[(&str, &str)], credentials: &[(&str, &str)]) -> Result<Setup, ConnectorError> {
    let mut all: BTreeMap<String, String> = pairs(&[("base_url", "https://scim.example/v2")]);
    all.extend(pairs::<BTreeMap<_, _>>(config));
    Setup::check(SETUP_FIELDS, all, pairs(credentials))
}

fn read(
    config: &[(&str, &str)],
    credentials: &[(&str, &str)],
) -> Result<ScimSettings, ConnectorError> {
    ScimSettings::from_setup(&setup(config, credentials)?)
}

#[track_caller]
fn assert_invalid(config: &[(&str, &str)], credentials: &[(&str, &str)], expected: &str) {
    match read(config, credentials) {
        Err(ConnectorError::InvalidSetup { field, .. }) => assert_eq!(field, expected),
        other => panic!("expected InvalidSetup on {expected}, got {other:?}"),
    }
}

const TOKEN: &[(&str, &str)] = &[("bearer_token", " token with spaces ")];

#[test]
fn fills_the_defaults() {
    let read = read(&[], TOKEN).unwrap();
    assert_eq!(read.base_url.as_str(), "https://scim.example/v2/");
    assert!(!read.allow_plaintext);
    match &read.auth {
        Auth::Bearer { token } => assert_eq!(token.expose_secret(), " token with spaces "),
        other => panic!("{other:?}"),
    }
    assert_eq!(read.auth.credential_field(), "credentials.bearer_token");
    assert_eq!(read.page_size, 100);
    assert_eq!((read.user_filter, read.group_filter), (None, None));
    assert_eq!(read.timeout, Duration::from_secs(30));
}

#[test]
fn basic_auth_needs_a_username_and_a_password() {
    let read = read(
        &[("auth", "basic"), ("username", "oblique")],
        &[("password", "pw")],
    )
    .unwrap();
    assert!(matches!(&read.auth, Auth::Basic { username, .. } if username == "oblique"));
    assert_eq!(read.auth.credential_field(), "credentials.password");
    assert_invalid(
        &[("auth", "basic")],
        &[("password", "pw")],
        "config.username",
    );
    assert_invalid(
        &[("auth", "basic"), ("username", "a:b")],
        &[("password", "pw")],
        "config.username",
    );
    assert_invalid(
        &[("auth", "basic"), ("username", "oblique")],
        &[],
        "credentials.password",
    );
    assert_invalid(
        &[("auth", "basic"), ("username", "oblique")],
        &[("password", "pw"), ("bearer_token", "t")],
        "credentials.bearer_token",
    );
}

#[test]
fn bearer_auth_needs_a_token_and_nothing_else() {
    assert_invalid(&[], &[], "credentials.bearer_token");
    assert_invalid(
        &[],
        &[("bearer_token", "t"), ("password", "pw")],
        "credentials.password",
    );
    assert_invalid(&[("username", "u")], TOKEN, "config.username");
    assert_invalid(&[("auth", "oauth")], TOKEN, "config.auth");
}

#[test]
fn the_base_url_is_https_unless_plaintext_is_allowed() {
    for bad in [
        "scim.example/v2",
        "ftp://scim.example/v2",
        "http://scim.example/v2",
        "https://user:pw@scim.example/v2",
        "https://scim.example/v2?tenant=1",
        "https://scim.example/v2#users",
        "https://",
    ] {
        assert_invalid(&[("base_url", bad)], TOKEN, "config.base_url");
    }
    let plain = read(
        &[
            ("base_url", "http://127.0.0.1:8080"),
            ("allow_plaintext", "true"),
        ],
        TOKEN,
    )
    .unwrap();
    assert_eq!(plain.base_url.as_str(), "http://127.0.0.1:8080/");
    assert_invalid(
        &[("allow_plaintext", "yes")],
        TOKEN,
        "config.allow_plaintext",
    );
    let with_slash = read(&[("base_url", "https://scim.example/api/v2/")], TOKEN).unwrap();
    assert_eq!(with_slash.base_url.as_str(), "https://scim.example/api/v2/");
}

#[test]
fn numbers_and_filters_are_checked() {
    for (name, bad) in [
        ("page_size", "0"),
        ("page_size", "10001"),
        ("page_size", "ten"),
        ("timeout", "0"),
        ("timeout", "-1"),
    ] {
        assert_invalid(&[(name, bad)], TOKEN, &format!("config.{name}"));
    }
    assert_invalid(
        &[("user_filter", "userName eq \"a\nb\"")],
        TOKEN,
        "config.user_filter",
    );
    let read = read(
        &[
            ("user_filter", " active eq true "),
            ("group_filter", "displayName sw \"app-\""),
            ("page_size", "250"),
        ],
        TOKEN,
    )
    .unwrap();
    assert_eq!(read.user_filter.as_deref(), Some("active eq true"));
    assert_eq!(
        read.group_filter.as_deref(),
        Some("displayName sw \"app-\"")
    );
    assert_eq!(read.page_size, 250);
}

#[test]
fn plaintext_is_warned_about() {
    let plain = setup(
        &[
            ("base_url", "http://127.0.0.1:8080"),
            ("allow_plaintext", "true"),
        ],
        TOKEN,
    )
    .unwrap();
    assert_eq!(setup_warnings(&plain).len(), 1);
    let https = setup(&[("allow_plaintext", "true")], TOKEN).unwrap();
    assert!(setup_warnings(&https).is_empty());
}
