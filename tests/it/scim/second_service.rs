//! The same sync and pushes against a second, independent SCIM implementation (SCIMMY, npm),
//! to catch what the connector assumes of scim2-server's dialect. SCIMMY differs where it
//! matters: its ServiceProviderConfig needs the token, it announces no ETags, it keeps
//! connections alive, pages by `count` up to 200, and a PATCH adding a present member adds it a
//! second time (the connector asks first).

use futures::TryStreamExt;
use oblique::connectors::{ConnectorError, Listed, RemoteAccount};

use super::{pair, people};
use crate::harness::TestApp;
use crate::harness::calls::attribute;
use crate::harness::calls::{accounts, memberships, synced};
use crate::harness::scim::ScimService;

const USERS: usize = 60;

#[tokio::test]
async fn the_same_sync_and_pushes_work_against_scimmy() {
    let app = TestApp::spawn().await;
    let service = ScimService::start_scimmy().await;
    let admin = &service.admin;
    let people = people(admin).await;
    let ids = admin.create_users("p", USERS).await.unwrap();
    let engineering = admin
        .create_group("engineering", &[&people.alice, &people.bob])
        .await
        .unwrap();
    let nested = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "auditors",
        "members": [
            {"value": people.carol, "type": "User"},
            {"value": engineering, "type": "Group"}
        ]
    });
    admin
        .request(reqwest::Method::POST, "Groups", Some(&nested))
        .await
        .unwrap();
    let everyone: Vec<&str> = ids.iter().map(String::as_str).collect();
    admin.create_group("everyone", &everyone).await.unwrap();

    let connector = service.connector(&[("page_size", "25")]);
    connector.validate().await.expect("a valid setup");
    let pages: Vec<Vec<Listed<RemoteAccount>>> =
        connector.list_accounts().try_collect().await.unwrap();
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [25, 25, 13]);

    let mut request = service.create_request("scimmy");
    request.config.insert("page_size".into(), "25".into());
    let (integration, run) = synced(&app, request).await;
    let stats = run.stats.unwrap();
    assert_eq!(stats.accounts.unwrap().created, USERS as i64 + 3);
    assert_eq!(stats.resources.unwrap().created, 3);
    assert_eq!(stats.access.unwrap().created, USERS as i64 + 3);
    assert_eq!(stats.errors, 0);
    let accounts = accounts(&app, &integration, false).await;
    let alice = accounts.iter().find(|a| a.username == "alice").unwrap();
    assert_eq!(alice.external_id, people.alice);
    assert_eq!(alice.email, "alice@example.org");
    assert_eq!(attribute(alice, "employeeNumber"), ["0001"]);
    assert_eq!(attribute(alice, "manager.value"), ["boss-17"]);
    let carol = accounts.iter().find(|a| a.username == "carol").unwrap();
    assert_eq!(carol.email, "carol@example.org");
    let pairs = memberships(&app, &integration).await;
    assert!(pairs.contains(&pair("auditors", "carol")), "{pairs:?}");
    assert!(pairs.contains(&pair("engineering", "bob")), "{pairs:?}");
    assert_eq!(
        pairs
            .iter()
            .filter(|(group, _)| group == "auditors")
            .count(),
        1,
        "the nested group skipped"
    );

    // Twice is once, on the service too.
    let mut expected = vec![
        people.alice.clone(),
        people.bob.clone(),
        people.carol.clone(),
    ];
    expected.sort();
    for _ in 0..2 {
        connector
            .add_member(&engineering, &people.carol)
            .await
            .expect("add");
    }
    assert_eq!(admin.members(&engineering).await.unwrap(), expected);
    for _ in 0..2 {
        connector
            .remove_member(&engineering, &people.carol)
            .await
            .expect("remove");
    }
    expected.retain(|id| id != &people.carol);
    assert_eq!(admin.members(&engineering).await.unwrap(), expected);

    let created = connector.create_resource("platform").await.expect("create");
    assert_eq!(
        admin.groups_named("platform").await.unwrap(),
        [created.external_id]
    );
    let again = connector.create_resource("platform").await;
    assert!(
        matches!(&again, Err(ConnectorError::Remote(m)) if m.contains("already exists")),
        "{again:?}"
    );
    let missing = connector.add_member("no-such-group", &people.alice).await;
    assert!(
        matches!(&missing, Err(ConnectorError::Remote(m)) if m.contains("no longer exists")),
        "{missing:?}"
    );
}
