//! Push: decisions made in Oblique reach the remote PostgreSQL, drift is corrected and audited,
//! failures are retried until the remote answers again.

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use oblique::pb::{self, SyncRunState};
use uuid::Uuid;

use crate::harness::calls::{
    audit_events, grant, resource, revoke, runs, set_mode, sync, synced, user_of, wait_idle,
};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually, expect_code};

/// An integration over the fixture's roles, synced once, with `readers` in push mode (the
/// connecting role has CREATEROLE, so it may change memberships).
pub(crate) async fn pushing(app: &TestApp, roles: &RemoteRoles) -> (pb::Integration, pb::Resource) {
    let (created, _) = synced(app, roles.create_request("pushed").await).await;
    let readers = resource(app, &created, &roles.name("readers")).await;
    let readers = set_mode(app, &readers.id, pb::SyncMode::Push).await;
    (created, readers)
}

/// Remote members of the fixture's role `group`, by role name.
pub(crate) async fn remote_members(roles: &RemoteRoles, group: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Member {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = roles.connect_admin().await;
    let members: Vec<Member> = diesel::sql_query(
        "SELECT m.rolname::text AS name FROM pg_auth_members am
         JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE g.rolname = $1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Text, _>(roles.name(group))
    .load(&mut conn)
    .await
    .unwrap();
    members.into_iter().map(|m| m.name).collect()
}

pub(crate) async fn propagation(
    app: &TestApp,
    resource: &pb::Resource,
    user: Uuid,
) -> Option<(String, i32)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT status, attempts FROM propagations WHERE resource_id = $1::uuid AND user_id = $2",
    )
    .bind::<diesel::sql_types::Text, _>(&resource.id)
    .bind::<diesel::sql_types::Uuid, _>(user)
    .load(&mut app.conn().await)
    .await
    .unwrap();
    rows.into_iter().next().map(|r| (r.status, r.attempts))
}

#[tokio::test]
async fn a_grant_reaches_the_remote_and_a_revocation_removes_it() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN")
        .await;
    let (integration, readers) = pushing(&app, &roles).await;
    let bob = user_of(&app, &integration, &roles.name("bob")).await;

    let granted = grant(&app, &readers, bob, "on call this week").await;
    // The scheduler picks up the pending push within a tick; no TriggerSync needed.
    eventually("bob pushed into readers", || async {
        (remote_members(&roles, "readers").await == [roles.name("bob")]).then_some(())
    })
    .await;
    eventually("the push recorded as in sync", || async {
        (propagation(&app, &readers, bob).await == Some(("in_sync".into(), 0))).then_some(())
    })
    .await;

    revoke(&app, granted, "rotation over").await;
    eventually("bob removed from readers", || async {
        remote_members(&roles, "readers")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn drift_is_corrected_at_the_next_run_and_audited() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_carol LOGIN; CREATE ROLE {p}_readers NOLOGIN;",
        )
        .await;
    let (integration, readers) = pushing(&app, &roles).await;
    let alice = user_of(&app, &integration, &roles.name("alice")).await;
    grant(&app, &readers, alice, "on call this week").await;
    eventually("alice pushed", || async {
        (remote_members(&roles, "readers").await == [roles.name("alice")]).then_some(())
    })
    .await;

    // By hand, behind Oblique's back: alice out, carol in.
    roles
        .sql("REVOKE {p}_readers FROM {p}_alice; GRANT {p}_readers TO {p}_carol;")
        .await;
    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    let pushed = run.stats.unwrap().push.unwrap();
    assert_eq!((pushed.created, pushed.deleted), (1, 1));
    assert_eq!(
        remote_members(&roles, "readers").await,
        [roles.name("alice")]
    );
    let drift = audit_events(&app, &readers.id, "access.drift_corrected")
        .await
        .len();
    assert_eq!(drift, 2, "both corrections audited");
}

#[tokio::test]
async fn an_unreachable_remote_is_an_error_with_attempts_until_it_answers() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN")
        .await;
    let (integration, readers) = pushing(&app, &roles).await;
    let alice = user_of(&app, &integration, &roles.name("alice")).await;

    // The remote "goes down": the integration now points at a port nobody listens on.
    let port = crate::harness::remote_postgres().await.port;
    let closed = oblique_testkit::free_port();
    let point_at = |port: u16| {
        format!(
            "UPDATE integrations SET config = jsonb_set(config, '{{port}}', to_jsonb('{port}'::text))
             WHERE id = '{}'",
            integration.id
        )
    };
    app.conn()
        .await
        .batch_execute(&point_at(closed))
        .await
        .unwrap();
    grant(&app, &readers, alice, "on call this week").await;
    let (status, attempts) = eventually("the push fails", || async {
        propagation(&app, &readers, alice)
            .await
            .filter(|(status, _)| status == "error")
    })
    .await;
    assert_eq!(status, "error");
    assert!(attempts >= 1);
    let listed = resource(&app, &integration, &roles.name("readers")).await;
    assert_eq!(listed.propagation_status(), pb::PropagationStatus::Error);

    // Back up: the retry (or a manual run) pushes it.
    app.conn()
        .await
        .batch_execute(&point_at(port))
        .await
        .unwrap();
    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert_eq!(
        propagation(&app, &readers, alice).await,
        Some(("in_sync".into(), 0))
    );
    assert_eq!(
        remote_members(&roles, "readers").await,
        [roles.name("alice")]
    );
    let listed = resource(&app, &integration, &roles.name("readers")).await;
    assert_eq!(listed.propagation_status(), pb::PropagationStatus::InSync);
}

#[tokio::test]
async fn removal_leaves_the_remote_as_it_was_and_pushes_nothing_later() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN")
        .await;
    let (integration, readers) = pushing(&app, &roles).await;
    let alice = user_of(&app, &integration, &roles.name("alice")).await;
    let bob = user_of(&app, &integration, &roles.name("bob")).await;
    grant(&app, &readers, alice, "on call this week").await;
    eventually("alice pushed", || async {
        (remote_members(&roles, "readers").await == [roles.name("alice")]).then_some(())
    })
    .await;
    wait_idle(&app, &integration).await;

    let mut admin = app.admin.integrations.clone();
    let refused = admin
        .delete_integration(pb::DeleteIntegrationRequest {
            id: integration.id.clone(),
            force: false,
        })
        .await
        .expect_err("push-mode resources need force");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().contains("1 push-mode resource"),
        "{refused:?}"
    );

    // A decision made just before the removal must not reach the remote after it.
    let bob_grant = grant(&app, &readers, bob, "on call this week").await;
    admin
        .delete_integration(pb::DeleteIntegrationRequest {
            id: integration.id.clone(),
            force: true,
        })
        .await
        .expect("forced delete");
    // Drift after removal is not Oblique's business any more.
    roles
        .sql("GRANT {p}_readers TO {p}_bob; REVOKE {p}_readers FROM {p}_alice;")
        .await;
    let before = remote_members(&roles, "readers").await;
    // Two scheduler ticks of another integration prove the scheduler ran meanwhile.
    let other = RemoteRoles::new().await;
    other.sql("CREATE ROLE {p}_x LOGIN").await;
    let mut request = other.create_request("ticker").await;
    request.sync_interval_seconds = 1;
    let ticker = admin
        .create_integration(request)
        .await
        .unwrap()
        .into_inner();
    eventually("the scheduler ticked twice", || async {
        (runs(&app, &ticker.id).await.len() >= 3).then_some(())
    })
    .await;
    assert_eq!(
        remote_members(&roles, "readers").await,
        before,
        "nothing pushed after removal"
    );
    assert_eq!(before, [roles.name("bob")]);

    // The decisions and the resource still answer, as history.
    let history = app
        .viewer
        .access
        .clone()
        .list_access_history(pb::ListAccessHistoryRequest {
            resource_id: readers.id.clone(),
            ..Default::default()
        })
        .await
        .expect("history after removal")
        .into_inner();
    assert!(history.entries.iter().any(|e| {
        e.grant
            .as_ref()
            .is_some_and(|g| g.id == bob_grant.to_string())
    }));
    let gone = admin
        .get_resource(pb::GetResourceRequest {
            id: readers.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(gone.deleted);
}

#[tokio::test]
async fn a_grant_to_a_user_without_an_account_there_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_readers NOLOGIN").await;
    let (_, readers) = pushing(&app, &roles).await;
    // An Oblique user known only from elsewhere: no account in this integration.
    let stranger = Uuid::now_v7();
    app.conn()
        .await
        .batch_execute(&format!(
            "INSERT INTO users (id, username) VALUES ('{stranger}', 'stranger-{stranger}')"
        ))
        .await
        .unwrap();
    let status = expect_code(
        app.service
            .access
            .clone()
            .grant_access(pb::GrantAccessRequest {
                resource_id: readers.id.clone(),
                user_id: stranger.to_string(),
                reason: "needs it".into(),
                expires_at: None,
            })
            .await,
        tonic::Code::FailedPrecondition,
    );
    assert!(
        status.message().contains("has no account in integration"),
        "{status:?}"
    );

    // Nothing was recorded: no grant, no pending push, nothing on the remote.
    let entries = app
        .viewer
        .access
        .clone()
        .list_access(pb::ListAccessRequest {
            resource_id: readers.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(
        entries.iter().all(|e| e.user_id != stranger.to_string()),
        "{entries:?}"
    );
    assert!(remote_members(&roles, "readers").await.is_empty());
}
