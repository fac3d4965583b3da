//! Remote changes and their audit (issue 13, defect 4): each change a push or a new team makes
//! on a remote is audited exactly once, also when the process making it dies between the
//! remote's answer and the record. Its intent, written before the call, is resolved by the next
//! run from its listing. The crash is reproduced as it leaves the database: a queued run no
//! worker has taken, an open intent, and the remote changed (or not).

use diesel_async::RunQueryDsl;
use oblique::pb;
use uuid::Uuid;

use crate::harness::calls::{
    accounts, audit_events, detail, grant, resource, resources, revoke, sync, synced, user_of,
    wait_idle,
};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually, test_engine};
use crate::push::{pushing, remote_members};
use crate::teams::create_team;

/// The `action` events of the resource for the account, oldest first.
async fn pushes(
    app: &TestApp,
    resource: &pb::Resource,
    action: &str,
    account: &str,
) -> Vec<pb::AuditEvent> {
    let mut events: Vec<pb::AuditEvent> = audit_events(app, &resource.id, action)
        .await
        .into_iter()
        .filter(|event| detail(event, "account_external_id").as_deref() == Some(account))
        .collect();
    events.sort_by_key(|event| event.at.map(|at| (at.seconds, at.nanos)));
    events
}

fn recovered(event: &pb::AuditEvent) -> bool {
    let field = event
        .details
        .as_ref()
        .and_then(|d| d.fields.get("recovered"));
    matches!(
        field.and_then(|value| value.kind.as_ref()),
        Some(prost_types::value::Kind::BoolValue(true))
    )
}

async fn open_intents(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let found: Count = diesel::sql_query("SELECT count(*) AS count FROM remote_intents")
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    found.count
}

#[tokio::test]
async fn each_remote_change_a_push_makes_is_audited_once() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN")
        .await;
    let (integration, readers) = pushing(&app, &roles).await;
    let alice = user_of(&app, &integration, &roles.name("alice")).await;
    let alice_id = accounts(&app, &integration, false).await[0]
        .external_id
        .clone();

    let granted = grant(&app, &readers, alice, "on call").await;
    eventually("alice pushed into readers", || async {
        (remote_members(&roles, "readers").await == [roles.name("alice")]).then_some(())
    })
    .await;
    wait_idle(&app, &integration).await;
    revoke(&app, granted, "rotation over").await;
    eventually("alice removed from readers", || async {
        remote_members(&roles, "readers")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    wait_idle(&app, &integration).await;

    let added = pushes(&app, &readers, "push.add", &alice_id).await;
    let removed = pushes(&app, &readers, "push.remove", &alice_id).await;
    assert_eq!(
        (added.len(), removed.len()),
        (1, 1),
        "{added:?} {removed:?}"
    );
    assert_eq!(
        detail(&added[0], "account").as_deref(),
        Some(&*roles.name("alice"))
    );
    assert_eq!(
        added[0].actor.as_ref().map(|a| a.name.as_str()),
        Some("system")
    );
    assert!(!recovered(&added[0]));
    assert_eq!(open_intents(&app).await, 0, "every intent is closed");
}

/// What a push that died mid-way leaves: its intent to add `account` to `resource`.
async fn leave_add_intent(app: &TestApp, resource: &pb::Resource, account: &pb::Account) {
    diesel::sql_query(
        "INSERT INTO remote_intents (id, integration_id, operation, resource_id, account_id,
                                     target, actor_name, actor_role, audit_action, audit_details)
         VALUES ($1, $2, 'add_member', $3, $4, $5, 'system', 'system', 'push.add',
                 jsonb_build_object('account_external_id', $6::text, 'account', $7::text))",
    )
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .bind::<diesel::sql_types::Uuid, _>(resource.integration_id.parse::<Uuid>().unwrap())
    .bind::<diesel::sql_types::Uuid, _>(resource.id.parse::<Uuid>().unwrap())
    .bind::<diesel::sql_types::Uuid, _>(account.id.parse::<Uuid>().unwrap())
    .bind::<diesel::sql_types::Text, _>(&resource.external_id)
    .bind::<diesel::sql_types::Text, _>(&account.external_id)
    .bind::<diesel::sql_types::Text, _>(&account.username)
    .execute(&mut app.conn().await)
    .await
    .expect("an open intent");
}

/// Alice's add reached the remote before the process died; Bob's did not. The next run audits
/// Alice's add once (as recovered) and carries out Bob's, audited once too.
#[tokio::test]
async fn a_push_cut_short_by_a_crash_is_audited_once_by_the_next_run() {
    let app = TestApp::spawn_without_sync().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN")
        .await;
    let (integration, readers) = {
        let workers = app.spawn_replica(test_engine()).await;
        let pushing = pushing(&workers, &roles).await;
        wait_idle(&workers, &pushing.0).await;
        pushing
    };
    let all = accounts(&app, &integration, false).await;
    let account = |name: &str| {
        all.iter()
            .find(|a| a.username == roles.name(name))
            .unwrap()
            .clone()
    };
    let (alice, bob) = (account("alice"), account("bob"));
    for user in [&alice, &bob] {
        grant(&app, &readers, user.user_id.parse().unwrap(), "on call").await;
    }
    // The push that died: both intents written, Alice's add made, neither recorded.
    leave_add_intent(&app, &readers, &alice).await;
    leave_add_intent(&app, &readers, &bob).await;
    roles.sql("GRANT {p}_readers TO {p}_alice").await;

    let workers = app.spawn_replica(test_engine()).await;
    eventually("both pushed", || async {
        (remote_members(&roles, "readers").await == [roles.name("alice"), roles.name("bob")])
            .then_some(())
    })
    .await;
    wait_idle(&workers, &integration).await;

    let alice_added = pushes(&app, &readers, "push.add", &alice.external_id).await;
    let bob_added = pushes(&app, &readers, "push.add", &bob.external_id).await;
    assert_eq!(
        (alice_added.len(), bob_added.len()),
        (1, 1),
        "{alice_added:?} {bob_added:?}"
    );
    assert!(
        recovered(&alice_added[0]),
        "alice's add is audited from its intent"
    );
    assert!(
        !recovered(&bob_added[0]),
        "bob's add was made by the new run"
    );
    assert_eq!(open_intents(&app).await, 0);
}

/// What a team creation that died mid-way leaves: its intent, resolvable now.
async fn leave_create_intent(app: &TestApp, integration: &pb::Integration, team: &pb::Team) {
    diesel::sql_query(
        "INSERT INTO remote_intents (id, integration_id, operation, team_id, target, actor_name,
                                     actor_role, audit_action, audit_details)
         VALUES ($1, $2, 'create_resource', $3, $4, 'admin-test', 'admin', 'team.resource_create',
                 jsonb_build_object('team', $4::text))",
    )
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .bind::<diesel::sql_types::Uuid, _>(integration.id.parse::<Uuid>().unwrap())
    .bind::<diesel::sql_types::Uuid, _>(team.id.parse::<Uuid>().unwrap())
    .bind::<diesel::sql_types::Text, _>(&team.name)
    .execute(&mut app.conn().await)
    .await
    .expect("an open intent");
}

/// The `ops` team's role was made on the remote before the process died, the `web` team's was
/// not. The next run records `ops`'s role as the team's push-mode resource (audited once, its
/// member pushed) and audits `web`'s as not made.
#[tokio::test]
async fn a_team_resource_creation_cut_short_is_recorded_or_reported_by_the_next_run() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN").await;
    let mut request = roles.create_request("teams").await;
    request.create_resources_for_new_teams = false;
    let (integration, _) = synced(&app, request).await;
    let alice = user_of(&app, &integration, &roles.name("alice")).await;
    let ops = create_team(&app, &roles.name("ops"), &[alice]).await;
    let web = create_team(&app, &roles.name("web"), &[]).await;
    leave_create_intent(&app, &integration, &ops).await;
    leave_create_intent(&app, &integration, &web).await;
    roles.sql("CREATE ROLE {p}_ops NOLOGIN").await;

    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded);
    eventually("alice pushed into the team's role", || async {
        (remote_members(&roles, "ops").await == [roles.name("alice")]).then_some(())
    })
    .await;
    let ops_role = resource(&app, &integration, &roles.name("ops")).await;
    assert_eq!(ops_role.sync_mode(), pb::SyncMode::Push);
    let created = audit_events(&app, &ops_role.id, "team.resource_create").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(recovered(&created[0]));
    let failed: Vec<_> = audit_events(&app, "", "team.resource_failed")
        .await
        .into_iter()
        .filter(|event| detail(event, "team").as_deref() == Some(&*web.name))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        !resources(&app, &integration, false)
            .await
            .iter()
            .any(|r| r.name == web.name)
    );
    assert_eq!(open_intents(&app).await, 0);
}
