//! What GetIntegration derives from other rows (the live resource and account counts, the last
//! run), read in one statement, against ListIntegrations, which reads the same per page.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::db::schema::{accounts, integrations, resources, sync_runs};
use oblique::pb::{self, ListIntegrationsRequest};
use uuid::Uuid;

use crate::fixtures::{insert_account, insert_resource};
use crate::harness::{TestApp, get_integration};
use crate::users::insert_integration;

#[tokio::test]
async fn get_counts_only_live_rows_and_shows_the_newest_run_even_once_deleted() {
    let app = TestApp::spawn_without_sync().await;
    // Inserted directly: no initial run, unlike CreateIntegration.
    let id = insert_integration(&app, "counted", None).await;
    let fresh = same_in_get_and_list(&app, id).await;
    assert_eq!((fresh.resource_count, fresh.account_count), (0, 0));
    assert_eq!(fresh.last_sync_run, None, "no run yet");

    for name in ["readers", "writers"] {
        insert_resource(&app, id, name, "pull").await;
    }
    let gone_resource = insert_resource(&app, id, "retired", "pull").await;
    for name in ["alice", "bob", "carol"] {
        insert_account(&app, id, name).await;
    }
    let gone_account = insert_account(&app, id, "dave").await;
    soft_delete(&app, gone_resource, gone_account).await;
    // Another integration's rows count for it alone.
    let other = insert_integration(&app, "other", None).await;
    insert_resource(&app, other, "readers", "pull").await;
    insert_account(&app, other, "alice").await;
    let older = insert_run(&app, id, "succeeded").await;
    let newer = insert_run(&app, id, "failed").await;
    insert_run(&app, other, "succeeded").await;

    let counted = same_in_get_and_list(&app, id).await;
    assert_eq!((counted.resource_count, counted.account_count), (2, 3));
    let last = counted.last_sync_run.expect("a last run");
    assert_eq!(last.id, newer.to_string(), "the newest run, not {older}");
    assert_eq!(last.state(), pb::SyncRunState::Failed);

    diesel::update(integrations::table.find(id))
        .set(integrations::deleted_at.eq(Utc::now()))
        .execute(&mut app.conn().await)
        .await
        .expect("deleting the integration");
    let deleted = same_in_get_and_list(&app, id).await;
    assert_eq!(deleted.status(), pb::IntegrationStatus::Deleted);
    assert_eq!((deleted.resource_count, deleted.account_count), (2, 3));
    assert_eq!(deleted.last_sync_run.expect("a last run").id, last.id);
}

/// GetIntegration's answer, after checking ListIntegrations (deleted ones included) says the
/// same of the integration.
async fn same_in_get_and_list(app: &TestApp, id: Uuid) -> pb::Integration {
    let got = get_integration(&app.viewer, &id.to_string()).await;
    let listed = app
        .viewer
        .integrations
        .clone()
        .list_integrations(ListIntegrationsRequest {
            include_deleted: true,
            ..Default::default()
        })
        .await
        .expect("ListIntegrations")
        .into_inner()
        .integrations
        .into_iter()
        .find(|listed| listed.id == got.id)
        .expect("the integration listed");
    assert_eq!(got, listed);
    got
}

async fn soft_delete(app: &TestApp, resource: Uuid, account: Uuid) {
    let mut conn = app.conn().await;
    diesel::update(resources::table.find(resource))
        .set(resources::deleted_at.eq(Utc::now()))
        .execute(&mut conn)
        .await
        .expect("deleting the resource");
    diesel::update(accounts::table.find(account))
        .set(accounts::deleted_at.eq(Utc::now()))
        .execute(&mut conn)
        .await
        .expect("deleting the account");
}

/// A finished run (ids grow with time: a later one is newer).
async fn insert_run(app: &TestApp, integration_id: Uuid, state: &str) -> Uuid {
    let id = Uuid::now_v7();
    diesel::insert_into(sync_runs::table)
        .values((
            sync_runs::id.eq(id),
            sync_runs::integration_id.eq(integration_id),
            sync_runs::trigger.eq("manual"),
            sync_runs::state.eq(state),
            sync_runs::requested_by.eq("test"),
            sync_runs::finished_at.eq(Utc::now()),
        ))
        .execute(&mut app.conn().await)
        .await
        .expect("inserting a run");
    id
}
