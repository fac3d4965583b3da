//! What the console sends a browser, checked with a plain HTTP client: the session cookie's
//! flags, refusals of forms without the session's CSRF token or from another site, a viewer's
//! forged change, and names that arrive as markup rendered as text.

use oblique::auth::{Principal, token};
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

use super::visitor::{Visitor, csrf_of};
use super::{serve_console, spawn_console};
use crate::harness::calls::synced;
use crate::harness::get_integration;
use crate::harness::remote::RemoteRoles;

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_expiring_and_secure_over_tls() {
    let console = spawn_console(false).await;
    let mut visitor = Visitor::new(&console.base);
    let cookie = visitor
        .sign_in(&console.admin_token)
        .await
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Max-Age=28800", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(
        !cookie.contains(&console.admin_token),
        "the token never goes into the cookie"
    );
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("console-admin (admin)"), "{}", home.body);
    let headers_page = reqwest::Client::builder()
        .tls_backend_preconfigured(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        )
        .build()
        .expect("client")
        .get(format!("{}/", console.base))
        .send()
        .await
        .expect("GET");
    let csp = headers_page.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(headers_page.headers()["x-frame-options"], "DENY");

    // A wrong token: refused, its message next to the field, and no cookie.
    let stranger = Visitor::new(&console.base);
    let refused = stranger
        .send_post("/sign-in", &[("token", "obl_nonsense")], &[])
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers().get(SET_COOKIE).is_none());
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains(r#"id="token-error" role="alert">invalid or revoked token"#)
    );

    // Served as behind TLS, the cookie is Secure.
    let secure_base = serve_console(&console.app, true).await;
    let cookie = Visitor::new(&secure_base)
        .sign_in(&console.admin_token)
        .await
        .expect("a session cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_or_from_another_site_are_refused() {
    let console = spawn_console(false).await;
    let mut visitor = Visitor::new(&console.base);
    visitor.sign_in(&console.admin_token).await;
    let form = visitor.get("/integrations/new/postgres").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = csrf_of(&form.body);
    for presented in ["", "made-up"] {
        let mut fields = forged_fields(presented);
        if presented.is_empty() {
            fields.remove(0);
        }
        let refused = visitor.post("/integrations/new/postgres", &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("security token"), "{}", refused.body);
    }
    let cross_site = visitor
        .post_with_headers(
            "/integrations/new/postgres",
            &forged_fields(&csrf),
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    // Signing out with the token works; the forms refused changed nothing.
    let list = visitor.get("/").await;
    assert!(list.body.contains("No integrations yet."), "{}", list.body);
    let signed_out = visitor.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        visitor.get("/integrations").await.location.as_deref(),
        Some("/")
    );
}

fn forged_fields(csrf: &str) -> Vec<(&str, &str)> {
    vec![
        ("csrf", csrf),
        ("name", "forged"),
        ("host", "127.0.0.1"),
        ("username", "x"),
        ("password", "y"),
    ]
}

#[tokio::test]
async fn a_viewer_sees_no_add_or_delete_and_its_forged_posts_are_refused() {
    let console = spawn_console(false).await;
    let roles = RemoteRoles::new().await;
    let (integration, _) = synced(&console.app, roles.create_request("viewed").await).await;
    let mut viewer = Visitor::new(&console.base);
    viewer.sign_in(&console.viewer_token).await;

    let list = viewer.get("/").await;
    assert!(list.body.contains("viewed"), "{}", list.body);
    assert!(!list.body.contains("Add integration"), "{}", list.body);
    let settings = viewer
        .get(&format!("/integrations/{}/settings", integration.id))
        .await;
    assert_eq!(settings.status, StatusCode::OK);
    assert!(!settings.body.contains("Delete integration"));
    assert_eq!(
        viewer.get("/integrations/new").await.status,
        StatusCode::FORBIDDEN
    );

    let csrf = csrf_of(&list.body);
    let forged = viewer
        .post(
            &format!("/integrations/{}/delete", integration.id),
            &[("csrf", &csrf), ("force", "on")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let forged = viewer
        .post(
            &format!("/integrations/{}/destination", integration.id),
            &[("csrf", &csrf), ("create_resources_for_new_teams", "on")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let still = get_integration(&console.app.admin, &integration.id).await;
    assert!(still.deleted_at.is_none());
    assert!(!still.create_resources_for_new_teams);

    // Revoking the token ends the session on its next request.
    let mut conn = console.app.conn().await;
    token::revoke(&mut conn, "console-viewer", &Principal::command_line())
        .await
        .expect("revoke");
    assert_eq!(
        viewer.get("/integrations").await.location.as_deref(),
        Some("/")
    );
}

#[tokio::test]
async fn names_sent_as_markup_render_as_text() {
    let console = spawn_console(false).await;
    let roles = RemoteRoles::new().await;
    roles
        .sql(r#"CREATE ROLE "{p}_<script>alert(1)</script>" NOLOGIN;"#)
        .await;
    let request = roles.create_request("<script>alert('name')</script>").await;
    let (integration, _) = synced(&console.app, request).await;
    let mut visitor = Visitor::new(&console.base);
    visitor.sign_in(&console.admin_token).await;

    let list = visitor.get("/").await;
    assert!(
        list.body
            .contains("&lt;script&gt;alert('name')&lt;/script&gt;"),
        "{}",
        list.body
    );
    assert!(!list.body.contains("<script>alert"), "{}", list.body);
    let resources = visitor
        .get(&format!("/integrations/{}/resources", integration.id))
        .await;
    assert!(
        resources
            .body
            .contains("_&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        resources.body
    );
    assert!(!resources.body.contains("<script>alert"));
}

/// Sign-in attempts are limited per client address (SECURITY.md): past the burst every attempt
/// is refused with 429 and the same page, whether its token is garbage, unknown or valid, before
/// the token is looked at; another address is not held up.
#[tokio::test]
async fn sign_in_attempts_are_limited_per_address_and_a_refusal_tells_nothing_of_the_token() {
    let console = spawn_console(false).await;
    let guesser = Visitor::new(&console.base);
    let unknown = format!("obl_{}_guessed", uuid::Uuid::now_v7().simple());
    for attempt in 0..oblique::console::SIGN_IN_BURST {
        let wrong = if attempt % 2 == 0 {
            "obl_nonsense"
        } else {
            &unknown
        };
        let refused = guesser
            .send_post("/sign-in", &[("token", wrong)], &[])
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let mut bodies = Vec::new();
    for token in [
        "obl_nonsense",
        unknown.as_str(),
        console.admin_token.as_str(),
    ] {
        let refused = guesser
            .send_post("/sign-in", &[("token", token)], &[])
            .await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().get(SET_COOKIE).is_none());
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&wait), "{wait}");
        let body = refused.text().await.unwrap();
        assert!(
            body.contains(r#"id="token-error" role="alert">Too many sign-in attempts"#),
            "{body}"
        );
        bodies.push(body.replace(&format!("Wait {wait} seconds"), "Wait N seconds"));
    }
    assert!(bodies.windows(2).all(|two| two[0] == two[1]), "{bodies:?}");
    // Another address (127.0.0.2, on the same loopback) signs in as usual.
    let mut colleague = Visitor::from_address(&console.base, "127.0.0.2".parse().unwrap());
    let cookie = colleague.sign_in(&console.admin_token).await;
    assert!(cookie.is_some(), "another address has a bucket of its own");
}
