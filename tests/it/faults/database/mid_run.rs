//! Oblique's database restarted in the middle of a run, while it lists, merges and pushes:
//! the run ends FAILED once the database is back, nothing half applied stays, and what the
//! push had made on the remote is resolved and audited once by the next run.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use oblique::pb;
use oblique::pb::team_service_client::TeamServiceClient;

use super::{RestartableCluster, Served, serve};
use crate::harness::remote::RemoteRoles;
use crate::harness::{eventually, get_integration, get_run, test_engine, wait_for_run};
use crate::listing_gate::ListingGate;
use crate::push::remote_members;

/// A manual run of the integration.
async fn trigger(served: &Served, integration_id: &str) -> Result<pb::SyncRun, tonic::Status> {
    served
        .admin
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: integration_id.into(),
            ..Default::default()
        })
        .await
        .map(|reply| reply.into_inner())
}

/// The integration made from `request`, once its first sync succeeded.
async fn synced(served: &Served, request: pb::CreateIntegrationRequest) -> pb::Integration {
    let created = served
        .admin
        .integrations
        .clone()
        .create_integration(request)
        .await
        .expect("create")
        .into_inner();
    let initial = wait_for_run(&served.admin, &created.last_sync_run.as_ref().unwrap().id).await;
    assert_eq!(initial.state(), pb::SyncRunState::Succeeded, "{initial:?}");
    created
}

/// The run once it is no longer RUNNING. It must have ended FAILED, recorded by its worker
/// once the database was back: not left RUNNING for the reaper to find once its lease
/// expired (or its deadline passed).
async fn failed_by_its_worker(served: &Served, run_id: &str) -> pb::SyncRun {
    let ended = eventually("the interrupted run to end", || async {
        let run = get_run(&served.admin, run_id).await.ok()?;
        (run.state() != pb::SyncRunState::Running).then_some(run)
    })
    .await;
    assert_eq!(ended.state(), pb::SyncRunState::Failed, "{ended:?}");
    assert!(
        !ended.error.contains("lease expired") && !ended.error.contains("deadline"),
        "{ended:?}"
    );
    ended
}

/// A new run, once the integration takes one, finished: it must succeed.
async fn next_run_succeeds(served: &Served, integration_id: &str) -> pb::SyncRun {
    let next = eventually("a new run", || async {
        trigger(served, integration_id).await.ok()
    })
    .await;
    let next = wait_for_run(&served.admin, &next.id).await;
    assert_eq!(next.state(), pb::SyncRunState::Succeeded, "{next:?}");
    next
}

/// The database restarted while a run lists: the run ends (FAILED, its staging connection gone)
/// rather than stay RUNNING, nothing of it is applied, and the same server's next run syncs.
#[tokio::test]
async fn a_database_restarted_mid_run_fails_the_run_and_the_next_one_syncs() {
    let mut cluster = RestartableCluster::start().await;
    let served = serve(&cluster, cluster.cluster.port(), test_engine()).await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN").await;
    let gate = ListingGate::new(&roles).await;
    let created = synced(&served, gate.route(roles.create_request("mid-run").await)).await;

    roles.sql("CREATE ROLE {p}_bob LOGIN").await;
    let closed = gate.close().await;
    let held = trigger(&served, &created.id).await.expect("trigger");
    eventually("the run to list", || async {
        let run = get_run(&served.admin, &held.id).await.ok()?;
        (run.state() == pb::SyncRunState::Running).then_some(())
    })
    .await;

    cluster.stop().await;
    cluster.start_again().await;
    closed.open().await;
    failed_by_its_worker(&served, &held.id).await;
    let bob_missing = get_integration(&served.admin, &created.id).await;
    assert_eq!(
        bob_missing.account_count, 1,
        "the interrupted run applied something"
    );

    let next = next_run_succeeds(&served, &created.id).await;
    assert_eq!(next.stats.unwrap().accounts.unwrap().created, 1, "bob");
}

/// The database restarted while a run merges: the test holds a lock the merge needs, waits
/// until the merge waits for it, and restarts the database. The merge's transaction is rolled
/// back whole: the run ends FAILED, nothing of it is applied, and the next run syncs.
#[tokio::test]
async fn a_database_restarted_mid_merge_fails_the_run_and_applies_nothing() {
    let mut cluster = RestartableCluster::start().await;
    let served = serve(&cluster, cluster.cluster.port(), test_engine()).await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN").await;
    let created = synced(&served, roles.create_request("mid-merge").await).await;

    roles.sql("CREATE ROLE {p}_bob LOGIN").await;
    let mut holder = AsyncPgConnection::establish(&cluster.url("oblique"))
        .await
        .expect("connecting");
    holder
        .batch_execute("BEGIN; LOCK TABLE accounts IN EXCLUSIVE MODE")
        .await
        .expect("locking accounts");
    let held = trigger(&served, &created.id).await.expect("trigger");
    eventually("the merge to wait for the lock", || async {
        #[derive(diesel::QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let mut conn = AsyncPgConnection::establish(&cluster.url("oblique"))
            .await
            .ok()?;
        let waiting: Waiting = diesel::sql_query(
            "SELECT count(*) AS count FROM pg_stat_activity
             WHERE datname = 'oblique' AND wait_event_type = 'Lock' AND query ILIKE '%accounts%'",
        )
        .get_result(&mut conn)
        .await
        .ok()?;
        (waiting.count > 0).then_some(())
    })
    .await;

    cluster.stop().await;
    cluster.start_again().await;
    drop(holder);
    failed_by_its_worker(&served, &held.id).await;
    let bob_missing = get_integration(&served.admin, &created.id).await;
    assert_eq!(
        bob_missing.account_count, 1,
        "the interrupted merge applied something"
    );
    let next = next_run_succeeds(&served, &created.id).await;
    assert_eq!(next.stats.unwrap().accounts.unwrap().created, 1, "bob");
}

/// The database restarted while a run pushes a new team's 150 members into its role: the run
/// ends FAILED as soon as the database is back (its worker retries recording it) rather than
/// stay RUNNING until its lease expires, the pushes it made while the database was away are resolved
/// by the next run from its listing, and in the end every member is on the remote and each
/// add is audited exactly once (issue 13: intents; item 13: restarted during a push).
#[tokio::test]
async fn a_database_restarted_mid_push_leaves_every_remote_change_audited_once() {
    const MEMBERS: usize = 150;
    let mut cluster = RestartableCluster::start().await;
    let served = serve(&cluster, cluster.cluster.port(), test_engine()).await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(&format!(
            "DO $$ BEGIN FOR i IN 1..{MEMBERS} LOOP
                 EXECUTE format('CREATE ROLE %I LOGIN', '{{p}}_member_' || i);
             END LOOP; END $$"
        ))
        .await;
    let mut request = roles.create_request("mid-push").await;
    request.create_resources_for_new_teams = true;
    let created = synced(&served, request).await;
    let members: Vec<String> = served
        .admin
        .integrations
        .clone()
        .list_accounts(pb::ListAccountsRequest {
            integration_id: created.id.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("accounts")
        .into_inner()
        .accounts
        .into_iter()
        .map(|account| account.user_id)
        .collect();
    assert_eq!(members.len(), MEMBERS);

    // The team's role is created at once; its members are pushed by one run.
    let team =
        TeamServiceClient::with_interceptor(served.channel.clone(), served.admin.bearer.clone())
            .create_team(pb::CreateTeamRequest {
                name: roles.name("crew"),
                member_user_ids: members,
            })
            .await
            .expect("create team")
            .into_inner();
    assert!(team.warnings.is_empty(), "{:?}", team.warnings);
    let pushing = eventually("a run pushing the members", || async {
        let runs = served
            .admin
            .sync
            .clone()
            .list_sync_runs(pb::ListSyncRunsRequest {
                integration_id: created.id.clone(),
                ..Default::default()
            })
            .await
            .ok()?
            .into_inner()
            .runs;
        runs.into_iter().find(|run| {
            run.state() == pb::SyncRunState::Running && run.phase() == pb::SyncPhase::Push
        })
    })
    .await;

    cluster.stop().await;
    cluster.start_again().await;
    failed_by_its_worker(&served, &pushing.id).await;
    let halfway = remote_members(&roles, "crew").await.len();
    eprintln!("{halfway} of {MEMBERS} members were on the remote when the run ended");

    next_run_succeeds(&served, &created.id).await;
    assert_eq!(remote_members(&roles, "crew").await.len(), MEMBERS);

    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Audited {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        accounts: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        events: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        open_intents: i64,
    }
    let mut conn = AsyncPgConnection::establish(&cluster.url("oblique"))
        .await
        .expect("connecting");
    let audited: Audited = diesel::sql_query(
        "SELECT count(DISTINCT details->>'account_external_id') AS accounts,
                count(*) AS events,
                (SELECT count(*) FROM remote_intents) AS open_intents
         FROM audit_events WHERE action = 'push.add'",
    )
    .get_result(&mut conn)
    .await
    .expect("the audit");
    let expected = MEMBERS as i64;
    assert_eq!(
        audited,
        Audited {
            accounts: expected,
            events: expected,
            open_intents: 0
        },
        "{halfway} of {MEMBERS} members were on the remote when the run ended"
    );
}
