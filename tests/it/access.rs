//! AccessService.ListAccess over pulled access (pull-mode resources): now, and at past instants
//! from history. Grants and push-mode resources are in grants.rs.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use diesel_async::RunQueryDsl;
use oblique::api::convert::timestamp;
use oblique::auth::Role;
use oblique::pb::{self, ListAccessRequest, access_service_client::AccessServiceClient};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::fixtures::{insert_account, insert_resource};
use crate::harness::{TestApp, expect_code};
use crate::users::{Token, insert_integration, insert_user, link_account, token};

type Client = AccessServiceClient<InterceptedService<Channel, Token>>;

async fn client(app: &TestApp, role: Option<Role>) -> Client {
    let token = token(app, "access-test", role).await;
    AccessServiceClient::with_interceptor(app.channel.clone(), token)
}

pub async fn insert_access(
    app: &TestApp,
    integration_id: Uuid,
    resource_id: Uuid,
    account_id: Uuid,
    added_at: DateTime<Utc>,
    removed_at: Option<DateTime<Utc>>,
) -> Uuid {
    #[derive(diesel::QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    // With its pair's key, as the sync would store it.
    diesel::sql_query(
        "INSERT INTO pulled_access
             (integration_id, resource_id, account_id, added_at, removed_at, pair_key)
         SELECT $1, r.id, a.id, $4, $5,
                access_pair_key(i.access_key_secret, r.external_id, a.external_id)
         FROM integrations i, resources r, accounts a
         WHERE i.id = $1 AND r.id = $2 AND a.id = $3
         RETURNING id",
    )
    .bind::<diesel::sql_types::Uuid, _>(integration_id)
    .bind::<diesel::sql_types::Uuid, _>(resource_id)
    .bind::<diesel::sql_types::Uuid, _>(account_id)
    .bind::<diesel::sql_types::Timestamptz, _>(added_at)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(removed_at)
    .get_result::<Inserted>(&mut app.conn().await)
    .await
    .map(|row| row.id)
    .expect("inserting pulled access")
}

async fn list(client: &mut Client, request: ListAccessRequest) -> pb::ListAccessResponse {
    client
        .list_access(request)
        .await
        .expect("list access")
        .into_inner()
}

fn of_resource(id: Uuid, at: Option<DateTime<Utc>>) -> ListAccessRequest {
    ListAccessRequest {
        resource_id: id.to_string(),
        at: at.map(timestamp),
        ..Default::default()
    }
}

fn of_user(id: Uuid, at: Option<DateTime<Utc>>) -> ListAccessRequest {
    ListAccessRequest {
        user_id: id.to_string(),
        at: at.map(timestamp),
        ..Default::default()
    }
}

/// (resource, account) of each entry, in answer order.
fn pairs(response: &pb::ListAccessResponse) -> Vec<(String, String)> {
    response
        .entries
        .iter()
        .map(|entry| (entry.resource_id.clone(), entry.account_id.clone()))
        .collect()
}

fn pair(resource: Uuid, account: Uuid) -> (String, String) {
    (resource.to_string(), account.to_string())
}

/// One integration with two resources and three accounts of two users:
/// - readers: ann from -3h (still), bob from -3h until -1h;
/// - writers: ann from -2h (still), ann's second account from -90min (still).
struct World {
    integration: Uuid,
    readers: Uuid,
    writers: Uuid,
    ann: Uuid,
    ann_admin: Uuid,
    bob: Uuid,
    ann_user: Uuid,
    bob_user: Uuid,
    now: DateTime<Utc>,
}

async fn world(app: &TestApp) -> World {
    let now = Utc::now().trunc_subsecs(6);
    let integration = insert_integration(app, "directory", Some(now)).await;
    let readers = insert_resource(app, integration, "readers", "pull").await;
    let writers = insert_resource(app, integration, "writers", "pull").await;
    let ann = insert_account(app, integration, "ann").await;
    let ann_admin = insert_account(app, integration, "ann_admin").await;
    let bob = insert_account(app, integration, "bob").await;
    let ann_user = insert_user(app, Some("ann@example.org"), "ann").await;
    let bob_user = insert_user(app, Some("bob@example.org"), "bob").await;
    link_account(app, ann, ann_user).await;
    link_account(app, ann_admin, ann_user).await;
    link_account(app, bob, bob_user).await;
    let h = Duration::hours;
    insert_access(app, integration, readers, ann, now - h(3), None).await;
    insert_access(app, integration, readers, bob, now - h(3), Some(now - h(1))).await;
    insert_access(app, integration, writers, ann, now - h(2), None).await;
    let m90 = Duration::minutes(90);
    insert_access(app, integration, writers, ann_admin, now - m90, None).await;
    World {
        integration,
        readers,
        writers,
        ann,
        ann_admin,
        bob,
        ann_user,
        bob_user,
        now,
    }
}

#[tokio::test]
async fn access_of_a_resource_now_and_at_past_instants() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut viewer = client(&app, Some(Role::Viewer)).await;
    let h = Duration::hours;

    let now = list(&mut viewer, of_resource(w.readers, None)).await;
    assert_eq!(pairs(&now), [pair(w.readers, w.ann)]);
    let entry = &now.entries[0];
    assert_eq!(entry.user_id, w.ann_user.to_string());
    // Who the ids are, without another call.
    assert_eq!(
        (
            entry.username.as_str(),
            entry.user_display_name.as_str(),
            entry.account_username.as_str()
        ),
        ("ann", "ann (display)", "ann")
    );
    assert_eq!(entry.source(), pb::AccessSource::Remote);
    assert_eq!(entry.propagation_status(), pb::PropagationStatus::InSync);
    assert_eq!(entry.since, Some(timestamp(w.now - h(3))));
    assert!(entry.grant_id.is_empty());
    assert!(now.next_page_token.is_empty());

    // Before bob's membership was removed, and after.
    let before = list(&mut viewer, of_resource(w.readers, Some(w.now - h(2)))).await;
    assert_eq!(
        pairs(&before),
        [pair(w.readers, w.ann), pair(w.readers, w.bob)]
    );
    assert_eq!(before.entries[1].user_id, w.bob_user.to_string());
    assert_eq!(
        before.entries[1].account_username, "bob",
        "named in the past too"
    );
    let after = list(
        &mut viewer,
        of_resource(w.readers, Some(w.now - Duration::minutes(30))),
    )
    .await;
    assert_eq!(pairs(&after), [pair(w.readers, w.ann)]);
    // The instant of removal is no longer access; the instant of adding is.
    let at_removal = list(&mut viewer, of_resource(w.readers, Some(w.now - h(1)))).await;
    assert_eq!(pairs(&at_removal), [pair(w.readers, w.ann)]);
    let at_adding = list(&mut viewer, of_resource(w.readers, Some(w.now - h(3)))).await;
    assert_eq!(at_adding.entries.len(), 2);
    let earlier = list(&mut viewer, of_resource(w.readers, Some(w.now - h(4)))).await;
    assert!(earlier.entries.is_empty());

    // Pages.
    let first = list(
        &mut viewer,
        ListAccessRequest {
            page_size: 1,
            ..of_resource(w.readers, Some(w.now - h(2)))
        },
    )
    .await;
    assert_eq!(pairs(&first), [pair(w.readers, w.ann)]);
    let second = list(
        &mut viewer,
        ListAccessRequest {
            page_size: 1,
            page_token: first.next_page_token,
            ..of_resource(w.readers, Some(w.now - h(2)))
        },
    )
    .await;
    assert_eq!(pairs(&second), [pair(w.readers, w.bob)]);
    assert!(second.next_page_token.is_empty());
}

#[tokio::test]
async fn access_of_a_user_spans_all_its_accounts() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut viewer = client(&app, Some(Role::Viewer)).await;
    let h = Duration::hours;

    let ann = list(&mut viewer, of_user(w.ann_user, None)).await;
    assert_eq!(
        pairs(&ann),
        [
            pair(w.readers, w.ann),
            pair(w.writers, w.ann),
            pair(w.writers, w.ann_admin)
        ]
    );
    assert!(
        ann.entries
            .iter()
            .all(|entry| entry.user_id == w.ann_user.to_string())
    );
    let ann_earlier = list(&mut viewer, of_user(w.ann_user, Some(w.now - h(2)))).await;
    assert_eq!(
        pairs(&ann_earlier),
        [pair(w.readers, w.ann), pair(w.writers, w.ann)]
    );

    let bob = list(&mut viewer, of_user(w.bob_user, None)).await;
    assert!(bob.entries.is_empty());
    let bob_earlier = list(&mut viewer, of_user(w.bob_user, Some(w.now - h(2)))).await;
    assert_eq!(pairs(&bob_earlier), [pair(w.readers, w.bob)]);

    let first = list(
        &mut viewer,
        ListAccessRequest {
            page_size: 2,
            ..of_user(w.ann_user, None)
        },
    )
    .await;
    assert_eq!(first.entries.len(), 2);
    let second = list(
        &mut viewer,
        ListAccessRequest {
            page_size: 2,
            page_token: first.next_page_token,
            ..of_user(w.ann_user, None)
        },
    )
    .await;
    assert_eq!(pairs(&second), [pair(w.writers, w.ann_admin)]);
    assert!(second.next_page_token.is_empty());

    // A user none of whose accounts has access.
    let nobody = insert_user(&app, None, "nobody").await;
    assert!(
        list(&mut viewer, of_user(nobody, None))
            .await
            .entries
            .is_empty()
    );
}

#[tokio::test]
async fn history_still_answers_after_the_integration_is_deleted() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let h = Duration::hours;
    app.admin
        .integrations
        .clone()
        .delete_integration(pb::DeleteIntegrationRequest {
            id: w.integration.to_string(),
            force: true,
        })
        .await
        .expect("delete integration");
    let mut viewer = client(&app, Some(Role::Viewer)).await;

    // Nothing is current on a deleted integration, but the soft-deleted resource is found.
    assert!(
        list(&mut viewer, of_resource(w.readers, None))
            .await
            .entries
            .is_empty()
    );
    assert!(
        list(&mut viewer, of_user(w.ann_user, None))
            .await
            .entries
            .is_empty()
    );
    let before = list(&mut viewer, of_resource(w.readers, Some(w.now - h(2)))).await;
    assert_eq!(
        pairs(&before),
        [pair(w.readers, w.ann), pair(w.readers, w.bob)]
    );
    let ann_before = list(&mut viewer, of_user(w.ann_user, Some(w.now))).await;
    assert_eq!(ann_before.entries.len(), 3);
    let after_deletion = list(
        &mut viewer,
        of_resource(w.readers, Some(Utc::now() + Duration::seconds(1))),
    )
    .await;
    assert!(after_deletion.entries.is_empty());
}

#[tokio::test]
async fn list_access_names_bad_fields_and_unknown_subjects() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut viewer = client(&app, Some(Role::Viewer)).await;

    let both = expect_code(
        viewer
            .list_access(ListAccessRequest {
                resource_id: w.readers.to_string(),
                user_id: w.ann_user.to_string(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(both.message().contains("resource_id"), "{both:?}");
    assert!(both.message().contains("user_id"), "{both:?}");
    let neither = expect_code(
        viewer.list_access(ListAccessRequest::default()).await,
        Code::InvalidArgument,
    );
    assert!(neither.message().contains("resource_id"), "{neither:?}");
    assert!(neither.message().contains("user_id"), "{neither:?}");
    let bad = expect_code(
        viewer
            .list_access(ListAccessRequest {
                resource_id: "nope".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad.message(), "resource_id: must be a UUID");
    let bad = expect_code(
        viewer
            .list_access(ListAccessRequest {
                user_id: "nope".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad.message(), "user_id: must be a UUID");
    let bad_at = expect_code(
        viewer
            .list_access(ListAccessRequest {
                at: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
                ..of_resource(w.readers, None)
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(bad_at.message().starts_with("at:"), "{bad_at:?}");

    let unknown = Uuid::now_v7();
    expect_code(
        viewer.list_access(of_resource(unknown, None)).await,
        Code::NotFound,
    );
    expect_code(
        viewer.list_access(of_user(unknown, None)).await,
        Code::NotFound,
    );
    // An account id is not a user id.
    expect_code(
        viewer.list_access(of_user(w.ann, None)).await,
        Code::NotFound,
    );

    let mut anonymous = client(&app, None).await;
    expect_code(
        anonymous.list_access(of_resource(w.readers, None)).await,
        Code::Unauthenticated,
    );
    // Grants are validated before anything else is looked at (see grants.rs for the rest).
    let mut service = client(&app, Some(Role::Service)).await;
    let empty = expect_code(
        service
            .grant_access(pb::GrantAccessRequest::default())
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(empty.message(), "resource_id: is required");
}
