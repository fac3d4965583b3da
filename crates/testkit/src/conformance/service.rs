//! The calls the checks make: to the service, through its gRPC API as an admin, and to the
//! connector of a [`Remote`]'s setup directly. Each fails the check when it fails.

use std::collections::{BTreeMap, BTreeSet};

use oblique::connectors::{Connector, IntegrationKind, Setup};
use oblique::pb;

use super::Remote;
use crate::grpc::Clients;
use crate::wait::{eventually, wait_for_run};

/// The largest page the service gives.
const PAGE: i32 = 1_000;

pub fn create_request(remote: &dyn Remote, name: &str) -> pb::CreateIntegrationRequest {
    pb::CreateIntegrationRequest {
        r#type: remote.kind().into(),
        name: name.into(),
        config: remote.config(),
        credentials: remote.credentials(),
        ..Default::default()
    }
}

/// Creates the integration and waits for its initial run, which must succeed.
pub async fn synced(
    admin: &Clients,
    request: pb::CreateIntegrationRequest,
) -> (pb::Integration, pb::SyncRun) {
    let created = admin
        .integrations
        .clone()
        .create_integration(request)
        .await
        .expect("CreateIntegration")
        .into_inner();
    let run = created.last_sync_run.as_ref().expect("the initial run");
    let run = wait_for_run(admin, &run.id).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded, "{run:?}");
    (created, run)
}

/// Runs the integration once more, once any run the scheduler started has ended, and answers
/// the finished run.
pub async fn sync(admin: &Clients, integration: &pb::Integration) -> pb::SyncRun {
    use pb::SyncRunState::{Queued, Running};
    eventually("no active run", || async {
        let runs = admin
            .sync
            .clone()
            .list_sync_runs(pb::ListSyncRunsRequest {
                integration_id: integration.id.clone(),
                ..Default::default()
            })
            .await
            .expect("ListSyncRuns")
            .into_inner()
            .runs;
        runs.iter()
            .all(|run| !matches!(run.state(), Queued | Running))
            .then_some(())
    })
    .await;
    let run = admin
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await
        .expect("TriggerSync")
        .into_inner();
    wait_for_run(admin, &run.id).await
}

/// Every page of a listing: `page` answers one page's items and the next page's token.
async fn all_pages<T, F, Fut>(mut page: F) -> Vec<T>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = (Vec<T>, String)>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let (mut more, next) = page(token).await;
        items.append(&mut more);
        if next.is_empty() {
            return items;
        }
        token = next;
    }
}

/// The integration's live accounts, by username.
pub async fn accounts(
    admin: &Clients,
    integration: &pb::Integration,
) -> BTreeMap<String, pb::Account> {
    let accounts = all_pages(|page_token| async move {
        let page = admin
            .integrations
            .clone()
            .list_accounts(pb::ListAccountsRequest {
                integration_id: integration.id.clone(),
                page_size: PAGE,
                page_token,
                ..Default::default()
            })
            .await
            .expect("ListAccounts")
            .into_inner();
        (page.accounts, page.next_page_token)
    })
    .await;
    accounts
        .into_iter()
        .map(|a| (a.username.clone(), a))
        .collect()
}

/// The integration's live resources, by name.
pub async fn resources(
    admin: &Clients,
    integration: &pb::Integration,
) -> BTreeMap<String, pb::Resource> {
    let resources = admin
        .integrations
        .clone()
        .list_resources(pb::ListResourcesRequest {
            integration_id: integration.id.clone(),
            page_size: PAGE,
            ..Default::default()
        })
        .await
        .expect("ListResources")
        .into_inner()
        .resources;
    resources.into_iter().map(|r| (r.name.clone(), r)).collect()
}

/// The usernames of the accounts with access to the resource, as Oblique knows them.
pub async fn access(
    admin: &Clients,
    integration: &pb::Integration,
    resource: &pb::Resource,
) -> BTreeSet<String> {
    let entries = all_pages(|page_token| async move {
        let page = admin
            .access
            .clone()
            .list_access(pb::ListAccessRequest {
                resource_id: resource.id.clone(),
                page_size: PAGE,
                page_token,
                ..Default::default()
            })
            .await
            .expect("ListAccess")
            .into_inner();
        (page.entries, page.next_page_token)
    })
    .await;
    let usernames: BTreeMap<String, String> = accounts(admin, integration)
        .await
        .into_values()
        .map(|account| (account.id, account.username))
        .collect();
    entries
        .iter()
        .map(|entry| match usernames.get(&entry.account_id) {
            Some(username) => username.clone(),
            None => panic!("access of an unknown account: {entry:?}"),
        })
        .collect()
}

pub async fn set_push_mode(admin: &Clients, resource: &pb::Resource) {
    admin
        .integrations
        .clone()
        .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
            resource_id: resource.id.clone(),
            sync_mode: pb::SyncMode::Push.into(),
        })
        .await
        .expect("SetResourceSyncMode");
}

/// Grants the Oblique user of `account` the resource.
pub async fn grant(admin: &Clients, resource: &pb::Resource, account: &pb::Account) {
    assert!(
        !account.user_id.is_empty(),
        "{account:?} is linked to no user"
    );
    admin
        .access
        .clone()
        .grant_access(pb::GrantAccessRequest {
            resource_id: resource.id.clone(),
            user_id: account.user_id.clone(),
            reason: "conformance".into(),
            expires_at: None,
        })
        .await
        .expect("GrantAccess");
}

/// The resource's audit events of `action`.
pub async fn audit_events(
    admin: &Clients,
    resource: &pb::Resource,
    action: &str,
) -> Vec<pb::AuditEvent> {
    admin
        .integrations
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest {
            resource_id: resource.id.clone(),
            action: action.into(),
            page_size: PAGE,
            ..Default::default()
        })
        .await
        .expect("ListAuditEvents")
        .into_inner()
        .events
}

/// How many integrations the service keeps, deleted ones included.
pub async fn integration_count(admin: &Clients) -> usize {
    let integrations = all_pages(|page_token| async move {
        let page = admin
            .integrations
            .clone()
            .list_integrations(pb::ListIntegrationsRequest {
                page_size: PAGE,
                page_token,
                include_deleted: true,
            })
            .await
            .expect("ListIntegrations")
            .into_inner();
        (page.integrations, page.next_page_token)
    })
    .await;
    integrations.len()
}

/// The connector an integration with the remote's setup uses.
pub fn connector(remote: &dyn Remote) -> Box<dyn Connector> {
    let kind = IntegrationKind::from_name(remote.kind()).expect("a known type");
    let setup = Setup::check(
        kind.setup_fields(),
        remote.config().into_iter().collect(),
        remote.credentials().into_iter().collect(),
    )
    .expect("a valid setup");
    kind.connector(&setup).expect("a connector")
}
