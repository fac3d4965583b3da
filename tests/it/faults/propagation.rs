//! Pushing decisions through a remote that refuses or a race with the push itself: a revocation
//! is never given up on and never lost.

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use oblique::engine::EngineConfig;
use oblique::pb;

use crate::harness::calls::{audit_events, grant, resource, revoke, runs, user_of, wait_idle};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually, test_engine, wait_for_run};
use crate::metrics::{sample, scrape};
use crate::push::{propagation, pushing, remote_members};

/// What a scrape of the app's metrics endpoint answers (the gauges read at scrape time set).
async fn scraped(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let endpoint = oblique::server::metrics_endpoint::serve(app.ctx.clone(), listener);
    let serving = tokio::spawn(endpoint);
    let text = scrape(port).await;
    serving.abort();
    text
}

/// A removal the remote refuses again and again is retried past `push_max_attempts` (the
/// resource shows ERROR meanwhile, and the metrics count the failed removals and the resource
/// in error) and goes through once the remote lets it.
#[tokio::test]
async fn a_refused_revocation_is_retried_past_the_attempt_limit() {
    const MAX_ATTEMPTS: i32 = 2;
    let engine = EngineConfig {
        push_max_attempts: MAX_ATTEMPTS,
        ..test_engine()
    };
    let app = TestApp::spawn_configured(None, engine).await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN")
        .await;
    let (integration, readers) = pushing(&app, &roles).await;
    let bob = user_of(&app, &integration, &roles.name("bob")).await;
    let granted = grant(&app, &readers, bob, "on call this week").await;
    eventually("bob pushed into readers", || async {
        (remote_members(&roles, "readers").await == [roles.name("bob")]).then_some(())
    })
    .await;

    // Only a superuser may change the members of a superuser role: the connecting role's
    // REVOKE fails with "permission denied" until this is undone.
    roles.sql("ALTER ROLE {p}_readers SUPERUSER").await;
    revoke(&app, granted, "rotation over").await;
    eventually("the removal retried past the attempt limit", || async {
        propagation(&app, &readers, bob)
            .await
            .filter(|(status, attempts)| status == "error" && *attempts > MAX_ATTEMPTS + 1)
    })
    .await;
    let listed = resource(&app, &integration, &roles.name("readers")).await;
    assert_eq!(listed.propagation_status(), pb::PropagationStatus::Error);
    assert_eq!(remote_members(&roles, "readers").await, [roles.name("bob")]);
    let metrics = scraped(&app).await;
    let failed_removals = sample(
        &metrics,
        "oblique_pushes_total{op=\"remove\",outcome=\"failed\"}",
    );
    assert!(failed_removals > f64::from(MAX_ATTEMPTS + 1), "{metrics}");
    assert_eq!(sample(&metrics, "oblique_resources_in_error"), 1.0);

    roles.sql("ALTER ROLE {p}_readers NOSUPERUSER").await;
    eventually("bob removed from readers by a retry", || async {
        remote_members(&roles, "readers")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    eventually("nothing left to push", || async {
        propagation(&app, &readers, bob)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    // The resource's summary is written when the push settles, just after the row went.
    eventually("the resource in sync again", || async {
        let listed = resource(&app, &integration, &roles.name("readers")).await;
        (listed.propagation_status() == pb::PropagationStatus::InSync).then_some(())
    })
    .await;
}

/// Whether a session of the remote is waiting on a lock in a statement that names `role`.
async fn waiting_on_a_lock(roles: &RemoteRoles, statement: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let found: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND query = $1",
    )
    .bind::<diesel::sql_types::Text, _>(statement)
    .get_result(&mut roles.connect_admin().await)
    .await
    .unwrap();
    found.count > 0
}

/// A revocation made while the push that adds the member is under way reaches the remote by
/// itself: the push's "in sync" does not overwrite the newer pending mark, and a follow-up run
/// removes the member without waiting for the schedule (or a drift correction).
#[tokio::test]
async fn a_revocation_during_the_push_is_not_lost() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN")
        .await;
    let (integration, readers) = pushing(&app, &roles).await;
    let bob = user_of(&app, &integration, &roles.name("bob")).await;
    wait_idle(&app, &integration).await;

    // An open transaction granting the same membership holds the push's GRANT: PostgreSQL makes
    // it wait for that transaction before inserting the membership.
    let statement = format!(
        "GRANT \"{}\" TO \"{}\"",
        roles.name("readers"),
        roles.name("bob")
    );
    let mut holder = roles.connect_admin().await;
    holder
        .batch_execute(&format!("BEGIN; {statement}"))
        .await
        .unwrap();
    let granted = grant(&app, &readers, bob, "on call this week").await;
    eventually("the push waiting on the remote", || async {
        waiting_on_a_lock(&roles, &statement).await.then_some(())
    })
    .await;
    let pushing_run = runs(&app, &integration.id)
        .await
        .into_iter()
        .find(|run| run.state() == pb::SyncRunState::Running)
        .expect("the run pushing bob");

    revoke(&app, granted, "not on call after all").await;
    holder.batch_execute("ROLLBACK").await.unwrap();
    let pushed = wait_for_run(&app.viewer, &pushing_run.id).await;
    assert_eq!(pushed.state(), pb::SyncRunState::Succeeded, "{pushed:?}");

    eventually("bob removed by a follow-up run", || async {
        remote_members(&roles, "readers")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    eventually("nothing left to push", || async {
        propagation(&app, &readers, bob)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let drift = audit_events(&app, &readers.id, "access.drift_corrected").await;
    assert!(drift.is_empty(), "a decision, not drift: {drift:?}");
}
