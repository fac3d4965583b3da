//! Pushing decisions through a remote that refuses or a race with the push itself: a revocation
//! is never given up on and never lost.

use oblique::engine::EngineConfig;
use oblique::pb;

use crate::harness::calls::{grant, resource, revoke, user_of};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, eventually, test_engine};
use crate::push::{propagation, pushing, remote_members};

/// A removal the remote refuses again and again is retried past `push_max_attempts` (the
/// resource shows ERROR meanwhile) and goes through once the remote lets it.
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
    let listed = resource(&app, &integration, &roles.name("readers")).await;
    assert_eq!(listed.propagation_status(), pb::PropagationStatus::InSync);
}
