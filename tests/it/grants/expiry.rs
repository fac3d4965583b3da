//! Grants with an expiry, and the scheduler revoking them when due.

use chrono::{Duration, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use oblique::api::convert::timestamp;
use oblique::auth::Role;
use oblique::db::schema::{grants, propagations};
use oblique::pb::{GrantAccessRequest, PropagationStatus};
use tonic::Code;
use uuid::Uuid;

use super::{access, client, grant, grant_request, history, propagation_rows, world};
use crate::harness::calls::audit_events;
use crate::harness::{TestApp, expect_code};

#[tokio::test]
async fn grants_expire() {
    let app = TestApp::spawn_without_sync().await;
    let w = world(&app).await;
    let mut service = client(&app, Role::Service).await;

    let past = expect_code(
        service
            .grant_access(GrantAccessRequest {
                expires_at: Some(timestamp(Utc::now() - Duration::seconds(1))),
                ..grant_request(w.pushed, w.ann, "yesterday")
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(past.message(), "expires_at: must be in the future");

    let expires_at = (Utc::now() + Duration::hours(1)).trunc_subsecs(6);
    let granted = grant(
        &mut service,
        GrantAccessRequest {
            expires_at: Some(timestamp(expires_at)),
            ..grant_request(w.pushed, w.ann, "incident 42")
        },
    )
    .await;
    assert_eq!(granted.expires_at, Some(timestamp(expires_at)));
    // Not yet due.
    assert_eq!(expire_due(&app).await.unwrap(), 0);
    lapse(&app, &granted.id).await;
    // Lapsed: no longer effective even before the scheduler revokes it.
    assert!(access(&mut service, w.pushed, None).await.is_empty());
    // The engine marked the membership in sync meanwhile; expiry must mark it pending again.
    diesel::update(propagations::table.filter(propagations::resource_id.eq(w.pushed)))
        .set(propagations::status.eq("in_sync"))
        .execute(&mut app.conn().await)
        .await
        .unwrap();

    assert_eq!(expire_due(&app).await.unwrap(), 1);
    assert_eq!(expire_due(&app).await.unwrap(), 0);
    let entries = history(&mut service, w.pushed).await;
    assert_eq!(entries[0].action, "access.revoke");
    let expired = entries[0].grant.as_ref().unwrap();
    assert_eq!(expired.revoked_by, "system");
    assert_eq!(expired.revoke_reason, "expired");
    assert_eq!(expired.propagation_status(), PropagationStatus::Pending);
    assert_eq!(
        propagation_rows(&app, w.pushed).await,
        [(w.ann, "pending".into())]
    );
    let audited = audit_events(&app, &w.pushed.to_string(), "access.expire").await;
    assert_eq!(audited.len(), 1);
    let actor = audited[0].actor.as_ref().unwrap();
    assert_eq!(
        (actor.name.as_str(), actor.role.as_str()),
        ("system", "system")
    );

    // An expired grant the scheduler has not revoked yet does not block a new one.
    let short = grant(
        &mut service,
        GrantAccessRequest {
            expires_at: Some(timestamp(Utc::now() + Duration::hours(1))),
            ..grant_request(w.pushed, w.bob, "quick fix")
        },
    )
    .await;
    lapse(&app, &short.id).await;
    let renewed = grant(&mut service, grant_request(w.pushed, w.bob, "longer fix")).await;
    assert_ne!(renewed.id, short.id);
    let bobs = grants::table
        .filter(grants::user_id.eq(w.bob))
        .select((grants::id, grants::revoke_reason))
        .order(grants::id)
        .load::<(Uuid, Option<String>)>(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(bobs[0].1.as_deref(), Some("expired"));
    assert_eq!(bobs[1].1, None);
}

/// Moves the grant two hours into the past, granted and expiring alike: its expiry lapses
/// without the test waiting for a clock, which a loaded machine could overtake before the grant
/// is even made.
async fn lapse(app: &TestApp, grant_id: &str) {
    let id = Uuid::parse_str(grant_id).unwrap();
    let moved = diesel::sql_query(
        "UPDATE grants SET granted_at = granted_at - interval '2 hours',
                          expires_at = expires_at - interval '2 hours'
         WHERE id = $1 AND expires_at > now()",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .execute(&mut app.conn().await)
    .await
    .unwrap();
    assert_eq!(moved, 1, "grant {grant_id} was not pending expiry");
}

/// What the scheduler does every few seconds.
async fn expire_due(app: &TestApp) -> diesel::QueryResult<usize> {
    let mut conn = app.conn().await;
    oblique::domain::grants::expire_due(&mut conn).await
}
