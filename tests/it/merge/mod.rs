//! The merge against staged listings a remote could really send: objects listed twice, access
//! naming unknown objects, attributes that change and vanish. Driven directly (no connector) so
//! that each listing is exactly what the test says.

use oblique::connectors::{RemoteAccess, RemoteAccount, RemoteResource};
use oblique::engine::merge::{self, Merged};
use oblique::engine::stage::{StagedPage, Staging};
use oblique::model::LinkUsersBy;
use uuid::Uuid;

use crate::harness::{TestApp, create_request};

mod access;
mod counts;

pub(super) fn account(id: &str, attributes: &[(&str, &[&str])]) -> RemoteAccount {
    RemoteAccount {
        member_names: Vec::new(),
        external_id: id.into(),
        username: id.into(),
        email: None,
        display_name: id.to_uppercase(),
        attributes: attributes
            .iter()
            .map(|(name, values)| {
                (
                    name.to_string(),
                    values.iter().map(|v| v.to_string()).collect(),
                )
            })
            .collect(),
    }
}

pub(super) fn group(id: &str) -> RemoteResource {
    RemoteResource {
        member_names: Vec::new(),
        external_id: id.into(),
        resource_type: oblique::model::ResourceType::Group,
        name: id.into(),
        description: String::new(),
    }
}

/// The secret the integration's pair keys are made with.
pub(super) async fn pair_key_secret(app: &TestApp, integration_id: Uuid) -> Vec<u8> {
    let mut conn = app.conn().await;
    oblique::db::integrations::access_key_secret(&mut conn, integration_id)
        .await
        .unwrap()
}

pub(super) fn member(resource: &str, account: &str) -> RemoteAccess {
    RemoteAccess {
        resource_external_id: resource.into(),
        account_external_id: account.into(),
        by_member_name: false,
        inherited: false,
    }
}

/// Stages the pages (one page per listing, or two to list objects twice) and merges them in a
/// committed transaction.
pub(super) async fn merge(app: &TestApp, integration_id: Uuid, pages: Vec<StagedPage>) -> Merged {
    merge_resolving(app, integration_id, pages, Names::WhileListing).await
}

/// Where pairs given by member name are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Names {
    /// By staging, from the names it kept while listing the accounts.
    WhileListing,
    /// By the merge's SQL (as past staging's budget for names).
    InSql,
}

/// [`merge`], with pairs given by member name resolved as `names` says.
pub(super) async fn merge_resolving(
    app: &TestApp,
    integration_id: Uuid,
    pages: Vec<StagedPage>,
    names: Names,
) -> Merged {
    let secret = pair_key_secret(app, integration_id).await;
    let mut staging = Staging::open(&app.database_url, secret).await.unwrap();
    if names == Names::InSql {
        staging.without_member_names();
    }
    for page in pages {
        staging.stage(page).await.unwrap();
    }
    staging.finish().await.unwrap();
    let tx = staging.client().transaction().await.unwrap();
    // The run row: its start tells resources made during the run (kept) from missing ones.
    let run_id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO sync_runs (id, integration_id, trigger, state, requested_by, started_at)
         VALUES ($1, $2, 'manual', 'succeeded', 'test', now())",
        &[&run_id, &integration_id],
    )
    .await
    .unwrap();
    let merged = merge::apply(&tx, integration_id, run_id, LinkUsersBy::Email)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    merged
}

/// A new integration (its runs never start: the tests merge by hand) and its id.
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
