//! UserService: listing users by email or username prefix, and a user with its accounts.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::auth::Role;
use oblique::db::schema::{accounts, integrations, users};
use oblique::model::LinkUsersBy;
use oblique::pb::{self, GetUserRequest, ListUsersRequest, user_service_client::UserServiceClient};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use uuid::Uuid;

use crate::fixtures::insert_account;
use crate::harness::{TestApp, expect_code};

/// Adds the bearer token, if any (the harness's clients cover the other services only).
#[derive(Clone)]
pub struct Token(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Token {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A token of `role` for `app` (named `<name>-<role>`), or none for `None`.
pub async fn token(app: &TestApp, name: &str, role: Option<Role>) -> Token {
    match role {
        Some(role) => {
            let secret = app.issue_token(&format!("{name}-{role}"), role).await;
            Token(Some(format!("Bearer {secret}").parse().expect("header")))
        }
        None => Token(None),
    }
}

async fn client(
    app: &TestApp,
    role: Option<Role>,
) -> UserServiceClient<InterceptedService<Channel, Token>> {
    let token = token(app, "users-test", role).await;
    UserServiceClient::with_interceptor(app.channel.clone(), token)
}

/// An integration row as CreateIntegration would leave it, without checking a remote.
pub async fn insert_integration(
    app: &TestApp,
    name: &str,
    last_pulled_at: Option<DateTime<Utc>>,
) -> Uuid {
    let id = Uuid::now_v7();
    diesel::insert_into(integrations::table)
        .values((
            integrations::id.eq(id),
            integrations::integration_type.eq("postgres"),
            integrations::link_users_by.eq(LinkUsersBy::Username),
            integrations::name.eq(name),
            integrations::last_pulled_at.eq(last_pulled_at),
        ))
        .execute(&mut app.conn().await)
        .await
        .expect("inserting integration");
    id
}

pub async fn insert_user(app: &TestApp, email: Option<&str>, username: &str) -> Uuid {
    let id = Uuid::now_v7();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::email.eq(email),
            users::username.eq(username),
            users::display_name.eq(format!("{username} (display)")),
        ))
        .execute(&mut app.conn().await)
        .await
        .expect("inserting user");
    id
}

/// Links the account to the user, as the sync engine does.
pub async fn link_account(app: &TestApp, account_id: Uuid, user_id: Uuid) {
    diesel::update(accounts::table.find(account_id))
        .set(accounts::user_id.eq(user_id))
        .execute(&mut app.conn().await)
        .await
        .expect("linking account");
}

async fn list(
    client: &mut UserServiceClient<InterceptedService<Channel, Token>>,
    query: &str,
    page_size: i32,
    page_token: String,
) -> pb::ListUsersResponse {
    client
        .list_users(ListUsersRequest {
            query: query.into(),
            page_size,
            page_token,
        })
        .await
        .expect("list users")
        .into_inner()
}

fn usernames(response: &pb::ListUsersResponse) -> Vec<&str> {
    response
        .users
        .iter()
        .map(|user| user.username.as_str())
        .collect()
}

#[tokio::test]
async fn users_list_by_case_insensitive_prefix_in_pages() {
    let app = TestApp::spawn_without_sync().await;
    insert_user(&app, Some("alice@example.org"), "asmith").await;
    insert_user(&app, Some("bob@example.org"), "Bob").await;
    insert_user(&app, None, "Alfred").await;
    insert_user(&app, Some("carol@example.org"), "AL_carol").await;
    insert_user(&app, None, "dave").await;
    let mut viewer = client(&app, Some(Role::Viewer)).await;

    let all = list(&mut viewer, "", 0, String::new()).await;
    assert_eq!(
        usernames(&all),
        ["asmith", "Bob", "Alfred", "AL_carol", "dave"]
    );
    assert!(all.next_page_token.is_empty());
    assert!(all.users.iter().all(|user| user.accounts.is_empty()));
    assert_eq!(all.users[0].email, "alice@example.org");
    assert_eq!(all.users[0].display_name, "asmith (display)");
    assert!(all.users[0].created_at.is_some());
    assert_eq!(all.users[2].email, "");

    // Email or username, either case.
    let first = list(&mut viewer, "AL", 2, String::new()).await;
    assert_eq!(usernames(&first), ["asmith", "Alfred"]);
    assert!(!first.next_page_token.is_empty());
    let second = list(&mut viewer, "AL", 2, first.next_page_token).await;
    assert_eq!(usernames(&second), ["AL_carol"]);
    assert!(second.next_page_token.is_empty());

    assert_eq!(
        usernames(&list(&mut viewer, "bob@", 0, String::new()).await),
        ["Bob"]
    );
    assert_eq!(
        usernames(&list(&mut viewer, "CAROL@EXAMPLE", 0, String::new()).await),
        ["AL_carol"]
    );
    // LIKE wildcards in the query are literal characters.
    assert_eq!(
        usernames(&list(&mut viewer, "al_", 0, String::new()).await),
        ["AL_carol"]
    );
    assert!(
        list(&mut viewer, "%", 0, String::new())
            .await
            .users
            .is_empty()
    );
    assert!(
        list(&mut viewer, "zed", 0, String::new())
            .await
            .users
            .is_empty()
    );

    let status = expect_code(
        viewer
            .list_users(ListUsersRequest {
                page_size: 1001,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("page_size:"), "{status:?}");
    let status = expect_code(
        viewer
            .list_users(ListUsersRequest {
                page_token: "garbage".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("page_token:"), "{status:?}");
}

#[tokio::test]
async fn get_user_has_all_its_accounts_with_attributes_and_deleted_flags() {
    let app = TestApp::spawn_without_sync().await;
    let pulled_at = Utc::now().trunc_subsecs(6);
    let directory = insert_integration(&app, "directory", Some(pulled_at)).await;
    let database = insert_integration(&app, "database", None).await;
    let user = insert_user(&app, Some("ann@example.org"), "ann").await;
    let other = insert_user(&app, Some("ben@example.org"), "ben").await;
    let live = insert_account(&app, directory, "ann").await;
    let gone = insert_account(&app, database, "ann_db").await;
    let unrelated = insert_account(&app, directory, "ben").await;
    link_account(&app, live, user).await;
    link_account(&app, gone, user).await;
    link_account(&app, unrelated, other).await;
    let deleted_at = Utc::now().trunc_subsecs(6);
    diesel::update(accounts::table.find(gone))
        .set(accounts::deleted_at.eq(deleted_at))
        .execute(&mut app.conn().await)
        .await
        .unwrap();

    let mut viewer = client(&app, Some(Role::Viewer)).await;
    let got = viewer
        .get_user(GetUserRequest {
            id: user.to_string(),
        })
        .await
        .expect("get user")
        .into_inner();
    assert_eq!(got.id, user.to_string());
    assert_eq!(got.email, "ann@example.org");
    assert_eq!(got.username, "ann");
    let ids: Vec<&str> = got.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [live.to_string(), gone.to_string()]);

    let first = &got.accounts[0];
    assert_eq!(first.integration_id, directory.to_string());
    assert_eq!(first.user_id, user.to_string());
    assert!(!first.deleted);
    assert_eq!(
        first.last_synced_at,
        Some(oblique::api::convert::timestamp(pulled_at))
    );
    assert_eq!(first.attributes.len(), 1);
    assert_eq!(first.attributes[0].name, "mail");
    assert_eq!(
        first.attributes[0].values,
        ["ann@example.org", "ann.alias@example.org"]
    );

    let second = &got.accounts[1];
    assert_eq!(second.integration_id, database.to_string());
    assert!(second.deleted);
    assert_eq!(
        second.deleted_at,
        Some(oblique::api::convert::timestamp(deleted_at))
    );
    assert_eq!(second.last_synced_at, None);
    assert_eq!(
        second.attributes[0].values,
        ["ann_db@example.org", "ann_db.alias@example.org"]
    );

    // A user no account links to yet.
    let lonely = insert_user(&app, None, "lonely").await;
    let got = viewer
        .get_user(GetUserRequest {
            id: lonely.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(got.accounts.is_empty());
}

#[tokio::test]
async fn get_user_errors_name_the_field_and_callers_need_a_token() {
    let app = TestApp::spawn_without_sync().await;
    let mut viewer = client(&app, Some(Role::Viewer)).await;
    let status = expect_code(
        viewer
            .get_user(GetUserRequest {
                id: Uuid::now_v7().to_string(),
            })
            .await,
        Code::NotFound,
    );
    assert!(status.message().contains("user"), "{status:?}");
    let status = expect_code(
        viewer.get_user(GetUserRequest { id: "nope".into() }).await,
        Code::InvalidArgument,
    );
    assert_eq!(status.message(), "id: must be a UUID");
    let status = expect_code(
        viewer.get_user(GetUserRequest::default()).await,
        Code::InvalidArgument,
    );
    assert_eq!(status.message(), "id: is required");

    let mut anonymous = client(&app, None).await;
    expect_code(
        anonymous.list_users(ListUsersRequest::default()).await,
        Code::Unauthenticated,
    );
    expect_code(
        anonymous
            .get_user(GetUserRequest {
                id: Uuid::now_v7().to_string(),
            })
            .await,
        Code::Unauthenticated,
    );
}

#[tokio::test]
async fn a_page_token_serves_only_the_filter_it_was_made_for() {
    let app = TestApp::spawn_without_sync().await;
    for name in ["alan", "alba", "albert"] {
        insert_user(&app, None, name).await;
    }
    let mut viewer = client(&app, Some(Role::Viewer)).await;
    let first = list(&mut viewer, "al", 1, String::new()).await;
    assert_eq!(usernames(&first), ["alan"]);

    // Another page size is still the same list: the token carries on where it stopped.
    let rest = list(&mut viewer, "al", 5, first.next_page_token.clone()).await;
    assert_eq!(usernames(&rest), ["alba", "albert"]);

    // Another query would page through another list from a position in this one.
    let status = expect_code(
        viewer
            .list_users(ListUsersRequest {
                query: "alb".into(),
                page_size: 1,
                page_token: first.next_page_token,
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status
            .message()
            .starts_with("page_token: was made for another"),
        "{status:?}"
    );
}
