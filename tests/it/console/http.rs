//! What the console sends a browser, checked with a plain HTTP client: the session cookie's
//! flags, refusals of forms without the session's CSRF token or from another site, a viewer's
//! forged change, and names that arrive as markup rendered as text.

use oblique::auth::{Principal, token};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};

use super::{serve_console, spawn_console};
use crate::harness::calls::synced;
use crate::harness::get_integration;
use crate::harness::remote::RemoteRoles;

/// A browser without the browser: keeps the session cookie, follows no redirect.
pub struct Visitor {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
}

impl Visitor {
    pub fn new(base: &str) -> Visitor {
        Visitor::trusting(base, rustls::RootCertStore::empty())
    }

    /// Over https, trusting `roots`.
    pub fn trusting(base: &str, roots: rustls::RootCertStore) -> Visitor {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Visitor {
            client,
            base: base.to_string(),
            cookie: None,
        }
    }

    /// Signs in with `token`; the `Set-Cookie` header it got.
    pub async fn sign_in(&mut self, token: &str) -> Option<String> {
        let response = self.send_post("/sign-in", &[("token", token)], &[]).await;
        let set_cookie = response
            .headers()
            .get(SET_COOKIE)
            .map(|value| value.to_str().expect("ascii").to_string());
        if let Some(set_cookie) = &set_cookie {
            self.cookie = Some(set_cookie.split(';').next().unwrap_or_default().to_string());
        }
        set_cookie
    }

    pub async fn get(&self, path: &str) -> Page {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        page(request.send().await.expect("GET")).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        page(self.send_post(path, fields, &[]).await).await
    }

    pub async fn post_with_headers(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        page(self.send_post(path, fields, headers).await).await
    }

    async fn send_post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).expect("form"));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("POST")
    }
}

async fn page(response: reqwest::Response) -> Page {
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().expect("ascii").to_string());
    Page {
        status,
        body: response.text().await.expect("body"),
        location,
    }
}

/// The CSRF token in a page's forms.
pub fn csrf_of(body: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = body.find(marker).expect("a form with a CSRF token") + marker.len();
    body[start..]
        .split('"')
        .next()
        .expect("a closing quote")
        .to_string()
}

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

#[tokio::test]
async fn the_overview_follows_a_running_sync_over_server_sent_events() {
    use oblique::db::run_events::{self as events, EventDraft, EventKind};
    use oblique::model::RunPhase;

    // No workers: the initial run stays queued until the test says what happens to it.
    let app = crate::harness::TestApp::spawn_without_sync().await;
    let base = serve_console(&app, false).await;
    let token = app
        .issue_token("console-admin", oblique::auth::Role::Admin)
        .await;
    let roles = RemoteRoles::new().await;
    let integration = app
        .admin
        .integrations
        .clone()
        .create_integration(roles.create_request("followed").await)
        .await
        .expect("create")
        .into_inner();
    let id: uuid::Uuid = integration.id.parse().unwrap();
    let mut visitor = Visitor::new(&base);
    visitor.sign_in(&token).await;
    let overview = visitor.get(&format!("/integrations/{id}")).await;
    let events_path = format!("/integrations/{id}/events");
    assert!(
        overview
            .body
            .contains(&format!(r#"data-events="{events_path}""#)),
        "{}",
        overview.body
    );

    let mut stream = visitor
        .client
        .get(format!("{base}{events_path}"))
        .header("cookie", visitor.cookie.clone().unwrap())
        .send()
        .await
        .expect("GET events");
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    // The queued run gets events stored and NOTIFYed the way a worker's are; cancelling it
    // ends it with its FINISHED event.
    let run_id = integration.last_sync_run.expect("the initial run").id;
    let run: uuid::Uuid = run_id.parse().unwrap();
    let mut progress = EventDraft::new(EventKind::Progress)
        .phase(RunPhase::Accounts)
        .progress(12);
    progress.total = 40;
    let mut conn = app.conn().await;
    events::emit(&mut conn, run, progress).await.expect("emit");
    app.admin
        .sync
        .clone()
        .cancel_sync_run(oblique::pb::CancelSyncRunRequest { id: run_id })
        .await
        .expect("cancel");
    let mut received = String::new();
    while let Some(chunk) = stream.chunk().await.expect("a chunk") {
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        received.contains("event: progress\ndata: queued: accounts (12 of 40)"),
        "{received}"
    );
    assert!(
        received.contains("event: finished\ndata: cancelled"),
        "{received}"
    );
}

#[tokio::test]
async fn with_tls_files_the_console_speaks_https_and_its_cookie_is_secure() {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let console = spawn_console(false).await;
    let ca = crate::harness::pki::TestCa::new("console test CA");
    let (cert, key) = ca.server(&["127.0.0.1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let config = oblique::console::tls::server_config(&cert_path, &key_path).expect("config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(oblique::console::tls::serve(
        oblique::console::Console::new(console.app.ctx.clone(), true),
        listener,
        config,
    ));
    // A client that says nothing holds up no one: the next one is served.
    let _silent = tokio::net::TcpStream::connect(base.trim_start_matches("https://"))
        .await
        .unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let mut visitor = Visitor::trusting(&base, roots);
    let cookie = visitor
        .sign_in(&console.admin_token)
        .await
        .expect("a session cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Add integration"), "{}", home.body);
}
