//! The gRPC calls (and the one query) that many tests make in the same way: creating and syncing
//! integrations, listing what a sync brought, deciding access and reading the audit trail. Each
//! fails the test when the call fails.

use diesel_async::RunQueryDsl;
use oblique::pb;
use uuid::Uuid;

pub use oblique_testkit::grpc::detail;

use super::{TestApp, create_request, eventually, wait_for_run};

/// Creates an integration over the test remote PostgreSQL named `name`, without waiting for its
/// initial run.
pub async fn create(app: &TestApp, name: &str) -> pb::Integration {
    app.admin
        .integrations
        .clone()
        .create_integration(create_request(name).await)
        .await
        .expect("create")
        .into_inner()
}

/// Creates the integration and waits for its initial run, which must succeed.
pub async fn synced(
    app: &TestApp,
    request: pb::CreateIntegrationRequest,
) -> (pb::Integration, pb::SyncRun) {
    let created = app
        .admin
        .integrations
        .clone()
        .create_integration(request)
        .await
        .expect("create")
        .into_inner();
    let run = created.last_sync_run.clone().expect("initial run");
    let run = wait_for_run(&app.admin, &run.id).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded, "{run:?}");
    (created, run)
}

/// Triggers a run with these flags and waits until it ends; the caller checks how. The service
/// token triggers it, unless overriding the mass-deletion guard, which only an admin may.
pub async fn sync_again(
    app: &TestApp,
    integration: &pb::Integration,
    dry_run: bool,
    allow_mass_deletion: bool,
) -> pb::SyncRun {
    let caller = if allow_mass_deletion {
        &app.admin
    } else {
        &app.service
    };
    let run = caller
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: integration.id.clone(),
            dry_run,
            allow_mass_deletion,
        })
        .await
        .expect("trigger")
        .into_inner();
    wait_for_run(&app.admin, &run.id).await
}

/// A plain manual run once the integration is idle (see [`wait_idle`]), finished.
pub async fn sync(app: &TestApp, integration: &pb::Integration) -> pb::SyncRun {
    wait_idle(app, integration).await;
    sync_again(app, integration, false, false).await
}

/// The kinds of pulled objects a sync run counts changes of, as [`pb::SyncStats`] holds them.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Accounts,
    Attributes,
    Resources,
    Access,
}

/// One expectation on a kind's [`pb::ChangeCounts`]: a count exactly, or at least one unchanged
/// (what a run that changes nothing must report, to show that it compared anything at all).
#[derive(Debug, Clone, Copy)]
pub enum Count {
    Created(i64),
    Updated(i64),
    Deleted(i64),
    SomeUnchanged,
}

/// Asserts what the finished `run` counted for `kind`. Counts not named are not checked: a
/// test pins only what its scenario determines (not, say, the attribute rows a new account
/// brings along).
pub fn assert_counts(run: &pb::SyncRun, kind: Kind, expected: &[Count]) {
    let stats = run
        .stats
        .as_ref()
        .unwrap_or_else(|| panic!("no stats: {run:?}"));
    let counts = match kind {
        Kind::Accounts => &stats.accounts,
        Kind::Attributes => &stats.attributes,
        Kind::Resources => &stats.resources,
        Kind::Access => &stats.access,
    };
    let counts = counts
        .as_ref()
        .unwrap_or_else(|| panic!("no {kind:?} counts: {stats:?}"));
    for &count in expected {
        let holds = match count {
            Count::Created(n) => counts.created == n,
            Count::Updated(n) => counts.updated == n,
            Count::Deleted(n) => counts.deleted == n,
            Count::SomeUnchanged => counts.unchanged > 0,
        };
        assert!(holds, "{kind:?}: expected {count:?}, counted {counts:?}");
    }
}

/// The integration's runs, newest first.
pub async fn runs(app: &TestApp, integration_id: &str) -> Vec<pb::SyncRun> {
    app.viewer
        .sync
        .clone()
        .list_sync_runs(pb::ListSyncRunsRequest {
            integration_id: integration_id.into(),
            ..Default::default()
        })
        .await
        .expect("ListSyncRuns")
        .into_inner()
        .runs
}

/// Waits until the integration has no queued or running run (a push the scheduler started may
/// still be finishing), so that the next TriggerSync starts a run of its own.
pub async fn wait_idle(app: &TestApp, integration: &pb::Integration) {
    use pb::SyncRunState::{Queued, Running};
    eventually("no active run", || async {
        runs(app, &integration.id)
            .await
            .iter()
            .all(|run| !matches!(run.state(), Queued | Running))
            .then_some(())
    })
    .await;
}

/// Messages of the run's events, as WatchSyncRun replays them.
pub async fn run_messages(app: &TestApp, run: &pb::SyncRun) -> Vec<String> {
    let mut watch = app
        .viewer
        .sync
        .clone()
        .watch_sync_run(pb::WatchSyncRunRequest {
            run_id: run.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut messages = Vec::new();
    while let Some(event) = watch.message().await.unwrap() {
        messages.push(event.message);
    }
    messages
}

/// The integration's accounts, by username; soft-deleted ones too with `include_deleted`.
pub async fn accounts(
    app: &TestApp,
    integration: &pb::Integration,
    include_deleted: bool,
) -> Vec<pb::Account> {
    let mut accounts = app
        .viewer
        .integrations
        .clone()
        .list_accounts(pb::ListAccountsRequest {
            integration_id: integration.id.clone(),
            include_deleted,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .accounts;
    accounts.sort_by(|a, b| a.username.cmp(&b.username));
    accounts
}

/// The integration's resources, by name; soft-deleted ones too with `include_deleted`.
pub async fn resources(
    app: &TestApp,
    integration: &pb::Integration,
    include_deleted: bool,
) -> Vec<pb::Resource> {
    let mut resources = app
        .viewer
        .integrations
        .clone()
        .list_resources(pb::ListResourcesRequest {
            integration_id: integration.id.clone(),
            include_deleted,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .resources;
    resources.sort_by(|a, b| a.name.cmp(&b.name));
    resources
}

/// The integration's live resource named `name`, as the API lists it now.
pub async fn resource(app: &TestApp, integration: &pb::Integration, name: &str) -> pb::Resource {
    resources(app, integration, false)
        .await
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no resource {name}"))
}

/// The Oblique user of the integration's live account `username`.
pub async fn user_of(app: &TestApp, integration: &pb::Integration, username: &str) -> Uuid {
    let accounts = accounts(app, integration, false).await;
    let account = accounts
        .iter()
        .find(|a| a.username == username)
        .unwrap_or_else(|| panic!("no account {username}"));
    Uuid::parse_str(&account.user_id).unwrap()
}

/// Current pulled memberships as (resource name, account username), sorted.
pub async fn memberships(app: &TestApp, integration: &pb::Integration) -> Vec<(String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Pair {
        #[diesel(sql_type = diesel::sql_types::Text)]
        resource: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        account: String,
    }
    let pairs: Vec<Pair> = diesel::sql_query(
        "SELECT r.name AS resource, a.username AS account FROM pulled_access p
         JOIN resources r ON r.id = p.resource_id JOIN accounts a ON a.id = p.account_id
         WHERE p.integration_id = $1::uuid AND p.removed_at IS NULL ORDER BY 1, 2",
    )
    .bind::<diesel::sql_types::Text, _>(&integration.id)
    .load(&mut app.conn().await)
    .await
    .unwrap();
    pairs.into_iter().map(|p| (p.resource, p.account)).collect()
}

/// Sets the resource's sync mode (as admin) and answers the resource as it is then.
pub async fn set_mode(app: &TestApp, resource_id: &str, mode: pb::SyncMode) -> pb::Resource {
    app.admin
        .integrations
        .clone()
        .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
            resource_id: resource_id.into(),
            sync_mode: mode.into(),
        })
        .await
        .expect("set sync mode")
        .into_inner()
}

/// Grants `user` the push-mode `resource` (as the service), checks that the push is pending,
/// and answers the grant's id.
pub async fn grant(app: &TestApp, resource: &pb::Resource, user: Uuid, reason: &str) -> Uuid {
    let granted = app
        .service
        .access
        .clone()
        .grant_access(pb::GrantAccessRequest {
            resource_id: resource.id.clone(),
            user_id: user.to_string(),
            reason: reason.into(),
            expires_at: None,
        })
        .await
        .expect("grant")
        .into_inner();
    assert_eq!(granted.propagation_status(), pb::PropagationStatus::Pending);
    Uuid::parse_str(&granted.id).unwrap()
}

/// Revokes the grant (as the service).
pub async fn revoke(app: &TestApp, grant_id: Uuid, reason: &str) {
    app.service
        .access
        .clone()
        .revoke_access(pb::RevokeAccessRequest {
            grant_id: grant_id.to_string(),
            reason: reason.into(),
        })
        .await
        .expect("revoke");
}

/// Audit events, newest first, of the resource `resource_id` and of the `action` (either
/// empty for any).
pub async fn audit_events(app: &TestApp, resource_id: &str, action: &str) -> Vec<pb::AuditEvent> {
    app.admin
        .integrations
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest {
            resource_id: resource_id.into(),
            action: action.into(),
            ..Default::default()
        })
        .await
        .expect("list audit events")
        .into_inner()
        .events
}

/// How many integrations are stored, deleted ones included.
pub async fn integration_count(app: &TestApp) -> i64 {
    use diesel::QueryDsl;
    oblique::db::schema::integrations::table
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

/// The values of the account's attribute `name` (none when it has no such attribute).
pub fn attribute<'a>(account: &'a pb::Account, name: &str) -> Vec<&'a str> {
    account
        .attributes
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.values.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The user's entry in the resource's effective access (ListAccess), if any.
pub async fn access_of(
    app: &TestApp,
    resource: &pb::Resource,
    user: Uuid,
) -> Option<pb::AccessEntry> {
    app.viewer
        .access
        .clone()
        .list_access(pb::ListAccessRequest {
            resource_id: resource.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list access")
        .into_inner()
        .entries
        .into_iter()
        .find(|entry| entry.user_id == user.to_string())
}
