//! A first sync (an integration with no accounts and no resources, not a dry run) lands its
//! memberships straight into `pulled_access` (`oblique::engine::first_sync`). These tests prove
//! it lands exactly what the normal merge lands, table by table, and that a first sync that is
//! cancelled or fails applies nothing.

use oblique::connectors::{ObjectProblem, RemoteAccess, RemoteAccount, RemoteResource};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::harness::{TestApp, create_request};

mod nothing_applied;
mod same_landing;

pub(super) fn account(
    id: &str,
    email: Option<&str>,
    attributes: &[(&str, &[&str])],
) -> RemoteAccount {
    RemoteAccount {
        email: email.map(str::to_string),
        ..crate::merge::account(id, attributes)
    }
}

pub(super) fn group(id: &str) -> RemoteResource {
    RemoteResource {
        member_names: Vec::new(),
        external_id: id.into(),
        resource_type: oblique::model::ResourceType::Group,
        name: id.into(),
        description: format!("the {id} group"),
    }
}

pub(super) fn member(resource: &str, account: &str, inherited: bool) -> RemoteAccess {
    RemoteAccess {
        resource_external_id: resource.into(),
        account_external_id: account.into(),
        by_member_name: false,
        inherited,
    }
}

pub(super) fn problem(external_id: &str) -> ObjectProblem {
    ObjectProblem {
        external_id: Some(external_id.into()),
        object: format!("account:{external_id}"),
        message: "unreadable in this test".into(),
    }
}

/// A new integration (a queued initial run that nothing claims unless the test does) and its id.
pub(super) async fn integration(app: &TestApp, name: &str) -> Uuid {
    let created = app
        .admin
        .integrations
        .clone()
        .create_integration(create_request(name).await)
        .await
        .unwrap()
        .into_inner();
    created.id.parse().unwrap()
}

pub(super) async fn client(app: &TestApp) -> Client {
    let (client, connection) = oblique::db::connect::connect(&app.database_url)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// Everything a sync lands for the integration, each row as text named by external ids (ids
/// differ between databases), sorted; memberships only through the rows they name, so that one
/// naming an id that did not land would be missing.
pub(super) async fn landed(client: &Client, integration_id: Uuid) -> Vec<String> {
    let queries = [
        "SELECT 'account ' || a.external_id || ' ' || a.username || ' ' || coalesce(a.email, '-')
                || ' ' || a.display_name || ' user ' || coalesce(u.username || '/'
                || coalesce(u.email, '-') || '/' || u.display_name, 'none') || ' key '
                || coalesce(a.link_key, '-') || ' conflict ' || coalesce(a.link_conflict, '-')
                || ' live ' || (a.deleted_at IS NULL)
         FROM accounts a LEFT JOIN users u ON u.id = a.user_id WHERE a.integration_id = $1",
        "SELECT 'attribute ' || a.external_id || ' ' || aa.name || ' '
                || array_to_string(aa.attribute_values, ',')
         FROM account_attributes aa JOIN accounts a ON a.id = aa.account_id
         WHERE a.integration_id = $1",
        "SELECT 'resource ' || external_id || ' ' || resource_type || ' ' || name || ' '
                || description || ' ' || sync_mode || ' live ' || (deleted_at IS NULL)
         FROM resources WHERE integration_id = $1",
        // Pair keys differ with each integration's secret: whether each is its pair's.
        "SELECT 'access ' || r.external_id || ' ' || a.external_id || ' key ok '
                || (p.pair_key = access_pair_key(i.access_key_secret, r.external_id,
                                                 a.external_id))
                || ' inherited ' || p.inherited || ' open ' || (p.removed_at IS NULL)
         FROM pulled_access p JOIN resources r ON r.id = p.resource_id
         JOIN accounts a ON a.id = p.account_id JOIN integrations i ON i.id = p.integration_id
         WHERE p.integration_id = $1",
        "SELECT 'access rows ' || count(*) FROM pulled_access WHERE integration_id = $1",
        // Each test lands one integration in a database of its own: every attribute row is
        // its, and each must name one of its accounts (no foreign key says so).
        "SELECT 'stored attributes ' || count(*) FROM account_attributes WHERE $1::uuid IS NOT NULL",
        "SELECT 'orphaned attribute ' || aa.account_id || ' ' || aa.name
         FROM account_attributes aa
         WHERE $1::uuid IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = aa.account_id)",
        // Accounts and resources name their user and integration without a foreign key
        // either: each must name a row that exists.
        "SELECT 'account naming a missing row ' || a.external_id
         FROM accounts a
         WHERE $1::uuid IS NOT NULL
           AND (NOT EXISTS (SELECT 1 FROM integrations i WHERE i.id = a.integration_id)
                OR (a.user_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.user_id)))",
        "SELECT 'resource naming a missing integration ' || r.external_id
         FROM resources r
         WHERE $1::uuid IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM integrations i WHERE i.id = r.integration_id)",
        "SELECT 'error ' || object || ' ' || message || ' ' || count
         FROM sync_errors WHERE integration_id = $1",
        "SELECT 'users ' || count(*) FROM users WHERE $1::uuid IS NOT NULL",
    ];
    let mut rows = Vec::new();
    for query in queries {
        for row in client.query(query, &[&integration_id]).await.unwrap() {
            rows.push(row.get::<_, String>(0));
        }
    }
    rows.sort();
    rows
}
