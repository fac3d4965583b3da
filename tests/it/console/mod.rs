//! The admin console (src/console/): the real server's console on a free port beside the gRPC
//! server of a `TestApp`, over plain HTTP. `http` checks what a browser is sent (cookie flags,
//! escaping, CSRF and role refusals) with a plain HTTP client; `browser` drives Debian's
//! chromium through the whole story with Playwright; `live` follows a run over
//! server-sent events; `tls` serves HTTPS; `serve` runs the real binary with the flag.

mod browser;
mod http;
mod live;
mod paging;
mod serve;
mod tls;
mod visitor;

use oblique::auth::Role;
use oblique::console::Console;

use crate::harness::TestApp;

pub struct ConsoleApp {
    pub app: TestApp,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub admin_token: String,
    pub viewer_token: String,
}

/// A `TestApp` with its console served on a free port; `secure_cookies` as behind TLS.
pub async fn spawn_console(secure_cookies: bool) -> ConsoleApp {
    let app = TestApp::spawn().await;
    let base = serve_console(&app, secure_cookies).await;
    let admin_token = app.issue_token("console-admin", Role::Admin).await;
    let viewer_token = app.issue_token("console-viewer", Role::Viewer).await;
    ConsoleApp {
        app,
        base,
        admin_token,
        viewer_token,
    }
}

/// Serves a console over `app`'s context (it stops with the app's shutdown); its base URL.
pub async fn serve_console(app: &TestApp, secure_cookies: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(oblique::console::serve(
        Console::new(app.ctx.clone(), secure_cookies),
        listener,
    ));
    base
}
