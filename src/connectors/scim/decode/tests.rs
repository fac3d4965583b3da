use proptest::prelude::*;
use serde_json::json;

use super::*;

fn attribute<'a>(account: &'a RemoteAccount, name: &str) -> Option<&'a str> {
    account
        .attributes
        .iter()
        .find(|(known, _)| known == name)
        .map(|(_, values)| values[0].as_str())
}

#[test]
fn a_full_user_is_read_with_its_attributes() {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
        "id": "2819c223",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "active": true,
        "emails": [
            {"value": "bjensen@home.example", "type": "home"},
            {"value": "bjensen@example.com", "type": "work", "primary": true}
        ],
        ENTERPRISE_USER: {
            "employeeNumber": 701984,
            "department": "Tour Operations",
            "manager": {"value": "26118915", "displayName": "John Smith"}
        }
    });
    let account = account(&user).unwrap();
    assert_eq!(account.external_id, "2819c223");
    assert_eq!(account.username, "bjensen@example.com");
    assert_eq!(account.email.as_deref(), Some("bjensen@example.com"));
    assert_eq!(account.display_name, "Babs Jensen");
    for (name, value) in [
        ("displayName", "Babs Jensen"),
        ("name.givenName", "Barbara"),
        ("name.familyName", "Jensen"),
        ("title", "Tour Guide"),
        ("active", "true"),
        ("externalId", "701984"),
        ("employeeNumber", "701984"),
        ("department", "Tour Operations"),
        ("manager.value", "26118915"),
    ] {
        assert_eq!(attribute(&account, name), Some(value), "{name}");
    }
}

#[test]
fn a_bare_user_falls_back_for_email_and_display_name() {
    let user = json!({"ID": 42, "USERNAME": "ann", "Emails": [{"value": "a@x"}, {"value": "b@x"}]});
    let account = account(&user).unwrap();
    assert_eq!(
        account.external_id, "42",
        "names in any case, numbers as text"
    );
    assert_eq!(
        account.email.as_deref(),
        Some("a@x"),
        "the first without a primary"
    );
    assert_eq!(account.display_name, "ann");
    assert!(account.attributes.is_empty());
    let named =
        json!({"id": "1", "userName": "b", "name": {"givenName": "Bo", "familyName": "Berg"}});
    assert_eq!(super::account(&named).unwrap().display_name, "Bo Berg");
}

#[test]
fn unreadable_users_are_problems_naming_them() {
    for (user, message) in [
        (json!({"userName": "x"}), "has no id"),
        (json!({"id": "7"}), "has no userName"),
        (json!({"id": "7", "userName": "  "}), "has no userName"),
        (
            json!({"id": "7", "userName": ["x"]}),
            "userName is not a single value",
        ),
        (
            json!({"id": "7", "userName": "x", "emails": "x@y"}),
            "emails is not a list",
        ),
        (
            json!({"id": "7", "userName": "x", "title": {"a": 1}}),
            "title is not a single value",
        ),
        (
            json!({"id": "7", "userName": "x", "name": "X"}),
            "name is not a complex value",
        ),
        (
            json!({"id": "7", "userName": "x", ENTERPRISE_USER: {"manager": "m"}}),
            "manager",
        ),
    ] {
        let problem = account(&user).unwrap_err();
        assert!(problem.message.contains(message), "{user}: {problem:?}");
        if user.get("id").is_some() {
            assert_eq!(problem.external_id.as_deref(), Some("7"));
            assert_eq!(problem.object, "account:Users/7");
        }
    }
    assert!(account(&json!([1, 2])).is_err());
}

#[test]
fn groups_and_their_user_members() {
    let group = json!({
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [
            {"value": "u1", "type": "User"},
            {"value": "u2"},
            {"value": "g2", "type": "Group"},
            {"value": "g3", "$ref": "https://scim.example/v2/Groups/g3"},
            {"display": "no value"},
            "u4"
        ]
    });
    let resource = super::group(&group).unwrap();
    assert_eq!(
        (resource.external_id.as_str(), resource.name.as_str()),
        ("g1", "Tour Guides")
    );
    assert_eq!(resource.resource_type, ResourceType::Group);
    let mut out = Vec::new();
    memberships(&group, &mut out);
    let (pairs, problems): (Vec<_>, Vec<_>) = out.into_iter().partition(Result::is_ok);
    let accounts: Vec<String> = pairs
        .into_iter()
        .map(|pair| pair.unwrap().account_external_id)
        .collect();
    assert_eq!(accounts, ["u1", "u2"], "nested groups skipped");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(super::group(&json!({"id": "g"})).is_err(), "no displayName");
}

/// Any JSON value, nested a few levels, with the keys a SCIM resource has.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("id".to_string()),
        Just("userName".to_string()),
        Just("displayName".to_string()),
        Just("emails".to_string()),
        Just("value".to_string()),
        Just("primary".to_string()),
        Just("members".to_string()),
        Just("type".to_string()),
        Just("name".to_string()),
        Just(ENTERPRISE_USER.to_string()),
        Just("manager".to_string()),
        ".{0,4}",
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_json_is_an_object_or_its_problem(resource in any_json()) {
        match account(&resource) {
            Ok(account) => {
                prop_assert!(!account.external_id.trim().is_empty());
                prop_assert!(!account.username.trim().is_empty());
            }
            Err(problem) => prop_assert!(!problem.message.is_empty()),
        }
        let _ = group(&resource);
        let mut out = Vec::new();
        memberships(&resource, &mut out);
    }
}
