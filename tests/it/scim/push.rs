//! Connector-level pushes: adding and removing members idempotently (the service announces
//! ETags, so each change carries `If-Match`), and groups created by the connector; a name
//! already taken is an error, and a group the group filter would hide is not created.

use futures::TryStreamExt;
use oblique::connectors::{ConnectorError, Listed, RemoteResource};

use super::people;
use crate::harness::scim::ScimService;

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn push_adds_and_removes_members_idempotently() {
    let service = ScimService::start().await;
    let admin = &service.admin;
    let people = people(admin).await;
    let readers = admin.create_group("readers", &[&people.bob]).await.unwrap();
    let connector = service.connector(&[]);

    for _ in 0..2 {
        connector
            .add_member(&readers, &people.alice)
            .await
            .expect("add");
    }
    assert_eq!(
        admin.members(&readers).await.unwrap(),
        sorted(&[&people.alice, &people.bob])
    );
    for _ in 0..2 {
        connector
            .remove_member(&readers, &people.alice)
            .await
            .expect("remove");
    }
    assert_eq!(
        admin.members(&readers).await.unwrap(),
        std::slice::from_ref(&people.bob)
    );
    connector
        .remove_member(&readers, &people.carol)
        .await
        .expect("removing someone who never was a member");
    assert_eq!(
        admin.members(&readers).await.unwrap(),
        std::slice::from_ref(&people.bob)
    );

    let missing = connector.add_member("no-such-group", &people.alice).await;
    assert!(
        matches!(&missing, Err(ConnectorError::Remote(m)) if m.contains("no longer exists")),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_created_group_is_listed_and_a_taken_name_is_an_error() {
    let service = ScimService::start().await;
    let admin = &service.admin;
    let connector = service.connector(&[]);
    let created = connector
        .create_resource("Project \"X\", phase 1")
        .await
        .expect("create");
    assert_eq!(
        (created.resource_type.as_str(), created.name.as_str()),
        ("group", "Project \"X\", phase 1")
    );
    assert_eq!(
        admin.groups_named("Project \"X\", phase 1").await.unwrap(),
        std::slice::from_ref(&created.external_id)
    );
    let pages: Vec<Vec<Listed<RemoteResource>>> =
        connector.list_resources().try_collect().await.unwrap();
    let listed: Vec<RemoteResource> = pages.into_iter().flatten().map(Result::unwrap).collect();
    assert_eq!(listed, [created], "listed as it was created");

    let again = connector.create_resource("Project \"X\", phase 1").await;
    assert!(
        matches!(&again, Err(ConnectorError::Remote(m)) if m.contains("already exists")),
        "{again:?}"
    );
    assert_eq!(
        admin
            .groups_named("Project \"X\", phase 1")
            .await
            .unwrap()
            .len(),
        1,
        "the taken name is not created twice"
    );

    let filtered = service.connector(&[("group_filter", "displayName sw \"app-\"")]);
    filtered
        .create_resource("app-billing")
        .await
        .expect("create");
    let hidden = filtered.create_resource("billing").await;
    assert!(
        matches!(&hidden, Err(ConnectorError::Remote(m)) if m.contains("config.group_filter")),
        "{hidden:?}"
    );
    assert!(admin.groups_named("billing").await.unwrap().is_empty());
}
