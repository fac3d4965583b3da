//! What the initial sync pulls from the service: users with their attributes, groups, and
//! memberships read from the groups (nested groups skipped); and how the setup's filters limit
//! what is pulled.

use super::{pair, people};
use crate::harness::TestApp;
use crate::harness::calls::attribute;
use crate::harness::calls::{accounts, memberships, resources, run_messages, synced};
use crate::harness::scim::ScimService;

#[tokio::test]
async fn the_initial_sync_brings_users_attributes_groups_and_memberships() {
    let app = TestApp::spawn().await;
    let service = ScimService::start().await;
    let admin = &service.admin;
    let people = people(admin).await;
    let engineering = admin
        .create_group("engineering", &[&people.alice, &people.bob])
        .await
        .unwrap();
    // A nested group is no account: skipped, not counted as an unknown member.
    let nested = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "auditors",
        "members": [
            {"value": people.bob, "type": "User"},
            {"value": people.carol},
            {"value": engineering, "type": "Group"}
        ]
    });
    admin
        .request(reqwest::Method::POST, "Groups", Some(&nested))
        .await
        .unwrap();
    admin.create_group("nobody", &[]).await.unwrap();

    let (integration, run) = synced(&app, service.create_request("idp")).await;
    let stats = run.stats.unwrap();
    assert_eq!(stats.accounts.unwrap().created, 3);
    assert_eq!(stats.resources.unwrap().created, 3);
    assert_eq!(stats.access.unwrap().created, 4);
    assert_eq!(stats.errors, 0);
    let messages = run_messages(&app, &run).await;
    assert!(
        !messages.iter().any(|m| m.contains("memberships name")),
        "no unknown member: {messages:?}"
    );

    let accounts = accounts(&app, &integration, false).await;
    let usernames: Vec<&str> = accounts.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(usernames, ["alice", "bob", "carol"]);
    let (alice, bob, carol) = (&accounts[0], &accounts[1], &accounts[2]);
    assert_eq!(alice.external_id, people.alice, "known by the SCIM id");
    assert_eq!(alice.email, "alice@example.org");
    assert_eq!(alice.display_name, "Alice A.");
    for (name, value) in [
        ("displayName", "Alice A."),
        ("name.givenName", "Alice"),
        ("name.familyName", "Archer"),
        ("title", "Zookeeper"),
        ("active", "true"),
        ("externalId", "hr-0001"),
        ("employeeNumber", "0001"),
        ("department", "Zoo"),
        ("manager.value", "boss-17"),
    ] {
        assert_eq!(attribute(alice, name), [value], "{name}");
    }
    assert_eq!(
        bob.email, "bob@example.org",
        "the first, none being primary"
    );
    assert_eq!(
        bob.display_name, "Bob Baker",
        "from name without displayName"
    );
    assert!(attribute(bob, "title").is_empty());
    assert_eq!(carol.email, "carol@example.org", "the primary one");
    assert_eq!(carol.display_name, "carol");
    assert_eq!(attribute(carol, "active"), ["false"]);

    let resources = resources(&app, &integration, false).await;
    let names: Vec<&str> = resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["auditors", "engineering", "nobody"]);
    assert!(resources.iter().all(|r| r.resource_type == "group"));
    assert_eq!(resources[1].external_id, engineering);

    assert_eq!(
        memberships(&app, &integration).await,
        [
            pair("auditors", "bob"),
            pair("auditors", "carol"),
            pair("engineering", "alice"),
            pair("engineering", "bob"),
        ]
    );

    // The filters are the service's: passed through as they are written.
    let mut filtered = service.create_request("filtered");
    filtered
        .config
        .insert("user_filter".into(), "userName sw \"a\"".into());
    filtered.config.insert(
        "group_filter".into(),
        "displayName eq \"engineering\"".into(),
    );
    let (filtered, run) = synced(&app, filtered).await;
    let usernames: Vec<String> = crate::harness::calls::accounts(&app, &filtered, false)
        .await
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(usernames, ["alice"]);
    let names: Vec<String> = crate::harness::calls::resources(&app, &filtered, false)
        .await
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["engineering"]);
    assert_eq!(
        memberships(&app, &filtered).await,
        [pair("engineering", "alice")]
    );
    let messages = run_messages(&app, &run).await;
    assert!(
        messages.iter().any(|m| m.starts_with("1 membership")),
        "bob, filtered out, is counted as an unknown member: {messages:?}"
    );
}
