//! AccessService decisions: GrantAccess, RevokeAccess, expiry, ListAccess on push-mode
//! resources (now and at past instants), ListAccessHistory, and adopting the remote's members
//! when a resource switches to push mode. Pushing to the remote is tested in push.rs.

mod expiry;
mod granting;
mod listing;
mod refusals;
mod resource_changes;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::api::convert::{parse_timestamp, timestamp};
use oblique::auth::Role;
use oblique::db::schema::propagations;
use oblique::pb::{
    self, GrantAccessRequest, ListAccessHistoryRequest, ListAccessRequest, RevokeAccessRequest,
    access_service_client::AccessServiceClient,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::fixtures::{insert_account, insert_resource};
use crate::harness::TestApp;
use crate::users::{Token, insert_integration, insert_user, link_account, token};

type Client = AccessServiceClient<InterceptedService<Channel, Token>>;

async fn client(app: &TestApp, role: Role) -> Client {
    let token = token(app, "grants-test", Some(role)).await;
    AccessServiceClient::with_interceptor(app.channel.clone(), token)
}

/// One integration (no remote behind it) with a push-mode and a pull-mode resource, and two
/// users each with an account there.
struct World {
    integration: Uuid,
    pushed: Uuid,
    pulled: Uuid,
    ann: Uuid,
    ann_account: Uuid,
    bob: Uuid,
    bob_account: Uuid,
}

async fn world(app: &TestApp) -> World {
    let integration = insert_integration(app, "directory", Some(Utc::now())).await;
    let pushed = insert_resource(app, integration, "deployers", "push").await;
    let pulled = insert_resource(app, integration, "readers", "pull").await;
    let ann_account = insert_account(app, integration, "ann").await;
    let bob_account = insert_account(app, integration, "bob").await;
    let ann = insert_user(app, Some("ann@example.org"), "ann").await;
    let bob = insert_user(app, Some("bob@example.org"), "bob").await;
    link_account(app, ann_account, ann).await;
    link_account(app, bob_account, bob).await;
    World {
        integration,
        pushed,
        pulled,
        ann,
        ann_account,
        bob,
        bob_account,
    }
}

fn grant_request(resource: Uuid, user: Uuid, reason: &str) -> GrantAccessRequest {
    GrantAccessRequest {
        resource_id: resource.to_string(),
        user_id: user.to_string(),
        reason: reason.into(),
        expires_at: None,
    }
}

fn revoke_request(grant: &pb::Grant, reason: &str) -> RevokeAccessRequest {
    RevokeAccessRequest {
        grant_id: grant.id.clone(),
        reason: reason.into(),
    }
}

async fn grant(client: &mut Client, request: GrantAccessRequest) -> pb::Grant {
    client
        .grant_access(request)
        .await
        .expect("grant access")
        .into_inner()
}

async fn access(
    client: &mut Client,
    resource: Uuid,
    at: Option<DateTime<Utc>>,
) -> Vec<pb::AccessEntry> {
    client
        .list_access(ListAccessRequest {
            resource_id: resource.to_string(),
            at: at.map(timestamp),
            ..Default::default()
        })
        .await
        .expect("list access")
        .into_inner()
        .entries
}

async fn history(client: &mut Client, resource: Uuid) -> Vec<pb::AccessHistoryEntry> {
    client
        .list_access_history(ListAccessHistoryRequest {
            resource_id: resource.to_string(),
            ..Default::default()
        })
        .await
        .expect("list access history")
        .into_inner()
        .entries
}

fn time(at: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    parse_timestamp("at", at.as_ref().expect("a time")).expect("a valid time")
}

/// (user, status) of every propagation row of the resource.
async fn propagation_rows(app: &TestApp, resource: Uuid) -> Vec<(Uuid, String)> {
    propagations::table
        .filter(propagations::resource_id.eq(resource))
        .select((propagations::user_id, propagations::status))
        .order(propagations::user_id)
        .load(&mut app.conn().await)
        .await
        .expect("propagations")
}
