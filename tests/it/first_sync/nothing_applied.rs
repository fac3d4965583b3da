//! A first sync that stops while merging applies nothing: its run cancelled once everything
//! was listed (the merge runs to its end, then finds the run no longer its own), or the landing
//! of its memberships refused by the database. The integration stays empty, so the next run is
//! a first sync again, and it lands everything.

use std::time::Duration;

use diesel_async::SimpleAsyncConnection;
use futures::StreamExt;
use oblique::connectors::{
    Connector, ConnectorError, PageStream, RemoteAccess, RemoteAccount, RemoteResource,
};
use oblique::db::models::{IntegrationRow, NewSyncRun, SyncRunRow};
use oblique::engine::runner;
use oblique::engine::stopped::Stopped;
use oblique::model::RunTrigger;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{account, client, group, integration, landed, member};
use crate::harness::TestApp;

const WORKER: &str = "first-sync-test/0";

/// A remote of two groups and three accounts; with `cancel_run`, the listing of access ends by
/// marking that run cancelled, as CancelSyncRun would while the run merges.
struct Remote {
    database_url: String,
    cancel_run: Option<Uuid>,
}

#[async_trait::async_trait]
impl Connector for Remote {
    async fn validate(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    fn list_accounts(&self) -> PageStream<'_, RemoteAccount> {
        let accounts =
            ["ann", "bob", "cid"].map(|id| Ok(account(id, None, &[("title", &["Dev"])])));
        futures::stream::iter([Ok(accounts.to_vec())]).boxed()
    }

    fn list_resources(&self) -> PageStream<'_, RemoteResource> {
        futures::stream::iter([Ok(vec![Ok(group("devs")), Ok(group("ops"))])]).boxed()
    }

    fn list_access(&self) -> PageStream<'_, RemoteAccess> {
        let pairs = vec![
            Ok(member("devs", "ann", false)),
            Ok(member("devs", "bob", false)),
            Ok(member("ops", "cid", true)),
        ];
        let (url, cancel_run) = (self.database_url.clone(), self.cancel_run);
        futures::stream::once(async move {
            if let Some(run_id) = cancel_run {
                let (client, connection) = oblique::db::connect::connect(&url).await.unwrap();
                tokio::spawn(connection);
                client
                    .execute(
                        "UPDATE sync_runs SET state = 'cancelled', finished_at = now()
                         WHERE id = $1",
                        &[&run_id],
                    )
                    .await
                    .unwrap();
            }
            Ok(pairs)
        })
        .boxed()
    }

    async fn add_member(&self, _: &str, _: &str) -> Result<(), ConnectorError> {
        Err(ConnectorError::Remote("not in this test".into()))
    }

    async fn remove_member(&self, _: &str, _: &str) -> Result<(), ConnectorError> {
        Err(ConnectorError::Remote("not in this test".into()))
    }

    async fn create_resource(&self, _: &str) -> Result<RemoteResource, ConnectorError> {
        Err(ConnectorError::Remote("not in this test".into()))
    }
}

/// Claims the integration's queued run (queueing one if there is none), as a worker would.
async fn claim(app: &TestApp, integration_id: Uuid) -> (IntegrationRow, SyncRunRow) {
    let mut conn = app.conn().await;
    let integration = oblique::db::integrations::find(&mut conn, integration_id)
        .await
        .unwrap()
        .unwrap();
    let lease = Duration::from_secs(3600);
    if let Some(run) = oblique::db::runs::claim(&mut conn, WORKER, lease)
        .await
        .unwrap()
    {
        return (integration, run);
    }
    let new = NewSyncRun {
        id: Uuid::now_v7(),
        integration_id,
        trigger: RunTrigger::Manual,
        dry_run: false,
        allow_mass_deletion: false,
        requested_by: "test",
    };
    oblique::db::runs::enqueue(&mut conn, &new).await.unwrap();
    let run = oblique::db::runs::claim(&mut conn, WORKER, lease)
        .await
        .unwrap()
        .unwrap();
    (integration, run)
}

async fn pull(app: &TestApp, integration_id: Uuid, cancel: bool) -> Result<(), Stopped> {
    let (integration, run) = claim(app, integration_id).await;
    let remote = Remote {
        database_url: app.database_url.clone(),
        cancel_run: cancel.then_some(run.id),
    };
    let engine = app.ctx.sync_engine();
    runner::pull_from(
        &engine,
        WORKER,
        &run,
        &integration,
        Box::new(remote),
        &CancellationToken::new(),
    )
    .await
    .map(|_| ())
}

/// Nothing of the integration's, no user, no audit of an applied sync.
async fn assert_nothing_applied(app: &TestApp, integration_id: Uuid) {
    let client = client(app).await;
    assert_eq!(
        landed(&client, integration_id).await,
        ["access rows 0", "stored attributes 0", "users 0"],
        "a stopped first sync applied something"
    );
    let applied: i64 = client
        .query_one(
            "SELECT count(*) FROM audit_events WHERE integration_id = $1 AND action = 'sync.apply'",
            &[&integration_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, 0);
}

/// The next run is a first sync too, and lands every row.
async fn assert_next_run_lands_everything(app: &TestApp, integration_id: Uuid) {
    pull(app, integration_id, false).await.unwrap();
    let landed = landed(&client(app).await, integration_id).await;
    assert!(landed.contains(&"access rows 3".to_string()), "{landed:#?}");
    assert_eq!(
        landed
            .iter()
            .filter(|row| row.starts_with("account "))
            .count(),
        3
    );
    assert_eq!(
        landed
            .iter()
            .filter(|row| row.starts_with("attribute "))
            .count(),
        3
    );
}

#[tokio::test]
async fn a_first_sync_cancelled_while_merging_applies_nothing() {
    let app = TestApp::spawn_without_sync().await;
    let integration_id = integration(&app, "first-cancelled").await;
    let stopped = pull(&app, integration_id, true).await;
    assert!(matches!(stopped, Err(Stopped::Cancelled)), "{stopped:?}");
    assert_nothing_applied(&app, integration_id).await;
    assert_next_run_lands_everything(&app, integration_id).await;
}

#[tokio::test]
async fn a_first_sync_whose_memberships_are_refused_applies_nothing() {
    let app = TestApp::spawn_without_sync().await;
    let integration_id = integration(&app, "first-refused").await;
    let mut owner = app.owner_conn().await;
    owner
        .batch_execute(
            "CREATE FUNCTION refuse_access() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
             CREATE TRIGGER refuse_access BEFORE INSERT ON pulled_access
                 FOR EACH STATEMENT EXECUTE FUNCTION refuse_access();",
        )
        .await
        .unwrap();
    let stopped = pull(&app, integration_id, false).await;
    assert!(matches!(stopped, Err(Stopped::Failed(_))), "{stopped:?}");
    assert_nothing_applied(&app, integration_id).await;

    // Ended as its worker would end it.
    owner
        .batch_execute(
            "DROP TRIGGER refuse_access ON pulled_access;
             UPDATE sync_runs SET state = 'failed', finished_at = now() WHERE state = 'running'",
        )
        .await
        .unwrap();
    assert_next_run_lands_everything(&app, integration_id).await;
}
