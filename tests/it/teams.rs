//! TeamService against a real remote PostgreSQL: a new team gets a NOLOGIN role of its own in
//! each integration that asks for one, recorded as a push-mode resource; a name already taken
//! remotely is reported, never adopted; membership changes are queued for pushing and audited.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;
use oblique::db::schema::{integrations, propagations, sync_runs, users};
use oblique::model::LinkUsersBy;
use oblique::pb::{
    self, AddTeamMemberRequest, CreateTeamRequest, GetTeamRequest, ListTeamsRequest,
    RemoveTeamMemberRequest, team_service_client::TeamServiceClient,
};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::harness::calls::{audit_events, detail, resources, synced};
use crate::harness::remote::RemoteRoles;
use crate::harness::{Bearer, Clients, TestApp, eventually, expect_code};
use crate::users::insert_user;

type TeamClient = TeamServiceClient<InterceptedService<Channel, Bearer>>;

fn teams(app: &TestApp, clients: &Clients) -> TeamClient {
    TeamServiceClient::with_interceptor(app.channel.clone(), clients.bearer.clone())
}

/// An integration seeing only this fixture's roles, after its initial sync.
async fn integration(
    app: &TestApp,
    roles: &RemoteRoles,
    name: &str,
    for_new_teams: bool,
) -> pb::Integration {
    let mut request = roles.create_request(name).await;
    request.create_resources_for_new_teams = for_new_teams;
    synced(app, request).await.0
}

pub(crate) async fn create_team(app: &TestApp, name: &str, members: &[Uuid]) -> pb::Team {
    teams(app, &app.admin)
        .create_team(CreateTeamRequest {
            name: name.into(),
            member_user_ids: members.iter().map(Uuid::to_string).collect(),
        })
        .await
        .expect("create team")
        .into_inner()
}

/// The user the initial sync made for a remote login role.
async fn user_named(app: &TestApp, username: &str) -> Uuid {
    users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(&mut app.conn().await)
        .await
        .unwrap_or_else(|error| panic!("no user {username}: {error}"))
}

#[derive(QueryableByName)]
struct RemoteRole {
    #[diesel(sql_type = Text)]
    oid: String,
    #[diesel(sql_type = Bool)]
    login: bool,
}

/// The remote role named `name`: its oid and whether it may log in.
async fn remote_role(roles: &RemoteRoles, name: &str) -> Option<RemoteRole> {
    diesel::sql_query(
        "SELECT oid::text AS oid, rolcanlogin AS login FROM pg_roles WHERE rolname = $1",
    )
    .bind::<Text, _>(name)
    .get_result(&mut roles.connect_admin().await)
    .await
    .optional()
    .expect("reading pg_roles")
}

pub(crate) async fn remote_members(roles: &RemoteRoles, role: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Member {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let members: Vec<Member> = diesel::sql_query(
        "SELECT m.rolname::text AS name FROM pg_auth_members a
         JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
         WHERE r.rolname = $1 ORDER BY 1",
    )
    .bind::<Text, _>(role)
    .load(&mut roles.connect_admin().await)
    .await
    .expect("reading pg_auth_members");
    let mut names: Vec<String> = members.into_iter().map(|m| m.name).collect();
    names.dedup();
    names
}

#[tokio::test]
async fn a_new_team_gets_a_role_in_each_integration_that_asks_for_one() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN;")
        .await;
    let enabled = integration(&app, &roles, "for-teams", true).await;
    let other = integration(&app, &roles, "not-for-teams", false).await;
    let alice = user_named(&app, &roles.name("alice")).await;
    let bob = user_named(&app, &roles.name("bob")).await;

    let name = roles.name("eng");
    let team = create_team(&app, &name, &[alice, alice]).await;
    assert_eq!(team.name, name);
    assert_eq!(team.member_user_ids, vec![alice.to_string()]);
    assert!(team.warnings.is_empty(), "{:?}", team.warnings);
    assert_eq!(team.resource_ids.len(), 1, "{team:?}");

    let role = remote_role(&roles, &name)
        .await
        .expect("the team's remote role");
    assert!(!role.login, "a team role is NOLOGIN");
    let resource = resources(&app, &enabled, false)
        .await
        .into_iter()
        .find(|resource| resource.id == team.resource_ids[0])
        .expect("the team's resource is listed");
    assert_eq!(resource.sync_mode(), pb::SyncMode::Push);
    assert_eq!(resource.team_id, team.id);
    assert_eq!(resource.name, name);
    assert_eq!(resource.external_id, role.oid, "the id the listing reports");
    assert!(
        resources(&app, &other, false)
            .await
            .iter()
            .all(|resource| resource.team_id.is_empty()),
        "the integration without the toggle gets no team resource"
    );

    let created = audit_events(&app, "", "team.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(detail(&created[0], "team_id"), Some(team.id.clone()));
    let made = audit_events(&app, "", "team.resource_create").await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].integration_id, enabled.id);
    assert_eq!(made[0].resource_id, resource.id);
    assert!(
        audit_events(&app, "", "team.resource_failed")
            .await
            .is_empty()
    );

    // The member's push is queued, and a TEAM run asked for.
    let pending: i64 = propagations::table
        .filter(propagations::resource_id.eq(resource.id.parse::<Uuid>().unwrap()))
        .filter(propagations::user_id.eq(alice))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(pending, 1);
    let team_runs: i64 = sync_runs::table
        .filter(sync_runs::integration_id.eq(enabled.id.parse::<Uuid>().unwrap()))
        .filter(sync_runs::trigger.eq("team"))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert!(team_runs >= 1);

    // Reading the team back.
    let got = teams(&app, &app.viewer)
        .get_team(GetTeamRequest {
            id: team.id.clone(),
        })
        .await
        .expect("get team")
        .into_inner();
    assert_eq!(got.member_user_ids, team.member_user_ids);
    assert_eq!(got.resource_ids, team.resource_ids);
    assert!(got.warnings.is_empty());

    // A member added later is queued for the team's resource too.
    let added = teams(&app, &app.admin)
        .add_team_member(AddTeamMemberRequest {
            team_id: team.id.clone(),
            user_id: bob.to_string(),
        })
        .await
        .expect("add member")
        .into_inner();
    assert_eq!(
        added.member_user_ids,
        vec![alice.to_string(), bob.to_string()]
    );
    let queued: i64 = propagations::table
        .filter(propagations::resource_id.eq(resource.id.parse::<Uuid>().unwrap()))
        .filter(propagations::user_id.eq(bob))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(queued, 1);
    let audited = audit_events(&app, "", "team.add_member").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(detail(&audited[0], "user_id"), Some(bob.to_string()));

    // The push engine then makes the remote role's members the team's.
    let want = vec![roles.name("alice"), roles.name("bob")];
    eventually("the team's members in the remote role", || async {
        (remote_members(&roles, &name).await == want).then_some(())
    })
    .await;
    teams(&app, &app.admin)
        .remove_team_member(RemoveTeamMemberRequest {
            team_id: team.id.clone(),
            user_id: alice.to_string(),
        })
        .await
        .expect("remove member");
    let want = vec![roles.name("bob")];
    eventually("the removed member gone from the remote role", || async {
        (remote_members(&roles, &name).await == want).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_name_taken_remotely_is_reported_and_never_adopted() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_ops NOLOGIN;").await;
    let enabled = integration(&app, &roles, "for-teams", true).await;
    let before = remote_role(&roles, &roles.name("ops")).await.unwrap();

    let team = create_team(&app, &roles.name("ops"), &[]).await;
    assert!(team.resource_ids.is_empty(), "{team:?}");
    assert_eq!(team.warnings.len(), 1, "{:?}", team.warnings);
    let warning = &team.warnings[0];
    assert!(
        warning.contains("for-teams") && warning.contains(&enabled.id),
        "the warning names the integration: {warning}"
    );
    assert!(
        warning.contains("already exists"),
        "and the reason: {warning}"
    );

    let after = remote_role(&roles, &roles.name("ops")).await.unwrap();
    assert_eq!(
        after.oid, before.oid,
        "the remote role is the one that was there"
    );
    assert!(
        resources(&app, &enabled, false)
            .await
            .iter()
            .all(|resource| resource.team_id.is_empty()),
        "the existing role is not recorded as the team's"
    );
    let failed = audit_events(&app, "", "team.resource_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].integration_id, enabled.id);
    assert!(
        detail(&failed[0], "reason")
            .unwrap()
            .contains("already exists")
    );
    assert!(
        audit_events(&app, "", "team.resource_create")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_type_that_cannot_create_resources_is_skipped_with_a_warning() {
    let app = TestApp::spawn_without_sync().await;
    // No built-in type lacks the capability; an integration of a type this build does not know
    // has none.
    let id = Uuid::now_v7();
    diesel::insert_into(integrations::table)
        .values((
            integrations::id.eq(id),
            integrations::integration_type.eq("legacy"),
            integrations::link_users_by.eq(LinkUsersBy::None),
            integrations::name.eq("old directory"),
            integrations::create_resources_for_new_teams.eq(true),
        ))
        .execute(&mut app.conn().await)
        .await
        .unwrap();

    let team = create_team(&app, "platform", &[]).await;
    assert!(team.resource_ids.is_empty());
    assert_eq!(team.warnings.len(), 1, "{:?}", team.warnings);
    assert!(
        team.warnings[0].contains("old directory")
            && team.warnings[0].contains("cannot create resources"),
        "{}",
        team.warnings[0]
    );
    let skipped = audit_events(&app, "", "team.resource_skipped").await;
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].integration_id, id.to_string());
}

#[tokio::test]
async fn creating_checks_names_members_and_roles() {
    let app = TestApp::spawn_without_sync().await;
    let user = insert_user(&app, Some("ann@example.org"), "ann").await;
    let mut admin = teams(&app, &app.admin);

    let team = create_team(&app, "  Platform ", &[user]).await;
    assert_eq!(team.name, "Platform");
    let duplicate = |name: &str| CreateTeamRequest {
        name: name.into(),
        ..Default::default()
    };
    expect_code(
        admin.create_team(duplicate("platform")).await,
        Code::AlreadyExists,
    );
    expect_code(
        admin.create_team(duplicate("")).await,
        Code::InvalidArgument,
    );
    expect_code(
        admin.create_team(duplicate(&"x".repeat(201))).await,
        Code::InvalidArgument,
    );
    let stranger = Uuid::now_v7();
    let status = expect_code(
        admin
            .create_team(CreateTeamRequest {
                name: "infra".into(),
                member_user_ids: vec![user.to_string(), stranger.to_string()],
            })
            .await,
        Code::NotFound,
    );
    assert!(
        status.message().contains(&stranger.to_string()),
        "{status:?}"
    );
    let status = expect_code(
        admin
            .create_team(CreateTeamRequest {
                name: "infra".into(),
                member_user_ids: vec!["not-a-uuid".into()],
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("member_user_ids[0]"),
        "{status:?}"
    );
    let status = expect_code(
        admin
            .create_team(CreateTeamRequest {
                name: "crowd".into(),
                member_user_ids: vec![user.to_string(); 1001],
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("member_user_ids:"),
        "{status:?}"
    );

    // Roles: only admins change teams; viewers read them; no token, no answer.
    for clients in [&app.viewer, &app.service] {
        let mut client = teams(&app, clients);
        expect_code(
            client.create_team(duplicate("infra")).await,
            Code::PermissionDenied,
        );
        expect_code(
            client
                .add_team_member(AddTeamMemberRequest {
                    team_id: team.id.clone(),
                    user_id: user.to_string(),
                })
                .await,
            Code::PermissionDenied,
        );
        expect_code(
            client
                .remove_team_member(RemoveTeamMemberRequest {
                    team_id: team.id.clone(),
                    user_id: user.to_string(),
                })
                .await,
            Code::PermissionDenied,
        );
    }
    let mut anonymous = teams(&app, &app.anonymous);
    expect_code(
        anonymous.list_teams(ListTeamsRequest::default()).await,
        Code::Unauthenticated,
    );
    let listed = teams(&app, &app.viewer)
        .list_teams(ListTeamsRequest::default())
        .await
        .expect("list teams")
        .into_inner();
    let names: Vec<&str> = listed.teams.iter().map(|team| team.name.as_str()).collect();
    assert_eq!(names, ["Platform"], "failed creations left nothing behind");
    assert_eq!(listed.teams[0].member_user_ids, vec![user.to_string()]);
    expect_code(
        teams(&app, &app.viewer)
            .get_team(GetTeamRequest {
                id: Uuid::now_v7().to_string(),
            })
            .await,
        Code::NotFound,
    );
    assert_eq!(audit_events(&app, "", "team.create").await.len(), 1);
}

#[tokio::test]
async fn membership_changes_are_idempotent_and_audited() {
    let app = TestApp::spawn_without_sync().await;
    let ann = insert_user(&app, Some("ann@example.org"), "ann").await;
    let ben = insert_user(&app, Some("ben@example.org"), "ben").await;
    let team = create_team(&app, "data", &[ann]).await;
    let mut admin = teams(&app, &app.admin);
    let add = |user: Uuid| AddTeamMemberRequest {
        team_id: team.id.clone(),
        user_id: user.to_string(),
    };
    let remove = |user: Uuid| RemoveTeamMemberRequest {
        team_id: team.id.clone(),
        user_id: user.to_string(),
    };

    for _ in 0..2 {
        let answered = admin.add_team_member(add(ben)).await.unwrap().into_inner();
        assert_eq!(answered.member_user_ids, [ann.to_string(), ben.to_string()]);
    }
    for _ in 0..2 {
        let answered = admin
            .remove_team_member(remove(ann))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answered.member_user_ids, [ben.to_string()]);
    }
    // Back again: a new membership period.
    let answered = admin.add_team_member(add(ann)).await.unwrap().into_inner();
    assert_eq!(answered.member_user_ids, [ben.to_string(), ann.to_string()]);

    let added = audit_events(&app, "", "team.add_member").await;
    let removed = audit_events(&app, "", "team.remove_member").await;
    assert_eq!(added.len(), 2, "one event per change, none for no-ops");
    assert_eq!(removed.len(), 1);
    assert_eq!(detail(&removed[0], "user_id"), Some(ann.to_string()));
    assert_eq!(detail(&removed[0], "team_id"), Some(team.id.clone()));
    assert_eq!(
        added[0].actor.as_ref().map(|a| a.name.as_str()),
        Some("test-admin")
    );

    expect_code(
        admin
            .add_team_member(AddTeamMemberRequest {
                team_id: Uuid::now_v7().to_string(),
                user_id: ann.to_string(),
            })
            .await,
        Code::NotFound,
    );
    expect_code(
        admin.add_team_member(add(Uuid::now_v7())).await,
        Code::NotFound,
    );
    expect_code(
        admin
            .remove_team_member(RemoveTeamMemberRequest {
                team_id: "nope".into(),
                user_id: ann.to_string(),
            })
            .await,
        Code::InvalidArgument,
    );
}
