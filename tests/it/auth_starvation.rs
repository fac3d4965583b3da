//! Callers cannot starve the database pool: a malformed token is refused without a connection, a
//! token used a moment ago authenticates from a short cache, and a running sync keeps its lease
//! on a connection of its own. Each test holds every pool connection itself while it checks.

use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use oblique::pb;
use tonic::Code;
use uuid::Uuid;

use crate::harness::calls::synced;
use crate::harness::remote::RemoteRoles;
use crate::harness::{Clients, PATIENCE, TestApp, eventually, expect_code, wait_for_run};
use crate::listing_gate::ListingGate;

/// Every connection the app's pool can give. The server's own tasks borrow connections briefly
/// and give them back, so each is taken as soon as it is free.
async fn exhaust_pool(app: &TestApp) -> Vec<Object<AsyncPgConnection>> {
    let max_size = app.ctx.pool.status().max_size;
    let mut held = Vec::new();
    while held.len() < max_size {
        let conn = tokio::time::timeout(PATIENCE, app.ctx.pool.get()).await;
        held.push(
            conn.expect("a pool connection never came free")
                .expect("pool"),
        );
    }
    assert_eq!(app.ctx.pool.status().available, 0, "pool not exhausted");
    held
}

#[tokio::test]
async fn an_exhausted_pool_still_refuses_malformed_tokens_and_admits_recent_ones() {
    let app = TestApp::spawn_without_sync().await;
    let mut viewer = app.viewer.integrations.clone();
    viewer
        .list_integration_types(pb::ListIntegrationTypesRequest {})
        .await
        .expect("a first call with the viewer token");

    let held = exhaust_pool(&app).await;
    for token in ["garbage", "obl_x", "obl_nothex_secret", ""] {
        let clients = Clients::new(app.channel.clone(), Some(token.to_string()));
        expect_code(
            clients
                .integrations
                .clone()
                .list_integration_types(pb::ListIntegrationTypesRequest {})
                .await,
            Code::Unauthenticated,
        );
    }
    // ListIntegrationTypes reads no table: it answers iff authentication needed no connection.
    viewer
        .list_integration_types(pb::ListIntegrationTypesRequest {})
        .await
        .expect("a recently used token authenticates without the pool");
    drop(held);
}

#[derive(diesel::QueryableByName)]
struct Lease {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    lease_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn lease_of(conn: &mut AsyncPgConnection, run_id: &str) -> chrono::DateTime<chrono::Utc> {
    diesel::sql_query("SELECT lease_expires_at FROM sync_runs WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(Uuid::parse_str(run_id).unwrap())
        .get_result::<Lease>(conn)
        .await
        .expect("reading the lease")
        .lease_expires_at
        .expect("a running run has a lease")
}

#[tokio::test]
async fn a_running_sync_keeps_its_lease_while_the_pool_is_exhausted() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    let gate = ListingGate::new(&roles).await;
    let request = gate.route(roles.create_request("leased").await);
    let (integration, _) = synced(&app, request).await;
    // Outside the pool, to watch the lease while the test holds every pooled connection.
    let mut watcher = AsyncPgConnection::establish(&app.database_url)
        .await
        .expect("connecting to the app's database");

    // The listing waits at the closed gate, so the run stays running while it is closed.
    let closed = gate.close().await;
    let run = app
        .service
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: integration.id.clone(),
            ..Default::default()
        })
        .await
        .expect("trigger")
        .into_inner();
    eventually("the run to be running", || {
        let mut sync = app.viewer.sync.clone();
        let id = run.id.clone();
        async move {
            let run = sync.get_sync_run(pb::GetSyncRunRequest { id }).await;
            (run.expect("GetSyncRun").into_inner().state() == pb::SyncRunState::Running)
                .then_some(())
        }
    })
    .await;

    let held = exhaust_pool(&app).await;
    let before = lease_of(&mut watcher, &run.id).await;
    // A lease that moved on is a heartbeat made while the pool was exhausted.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while lease_of(&mut watcher, &run.id).await <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lease was not renewed while the pool was exhausted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(held);
    closed.open().await;
    let ended = wait_for_run(&app.admin, &run.id).await;
    assert_eq!(ended.state(), pb::SyncRunState::Succeeded, "{ended:?}");
}
