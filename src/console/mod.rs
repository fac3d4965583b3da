//! The admin console: server-rendered HTML pages served by the service itself
//! (`oblique serve --console-listen ADDR`), beside the gRPC API. It is a second edge over the same
//! use cases: each page calls the `domain` functions the gRPC handlers call, with the same role
//! checks (the signed-in token's role) and so the same audit events; it never touches storage
//! itself.
//!
//! Addresses follow the API's names: `/` (sign-in, then the integrations), `/integrations/new`,
//! `/integrations/new/{type}`, `/integrations/{id}` and its tabs (`/resources`, `/destination`,
//! `/settings`, `/audit`). Every page is plain HTML that works without a mouse and without
//! JavaScript; a few lines of JavaScript (static, allowed by the Content-Security-Policy) follow a
//! running sync live and open the delete confirmation as a dialog.

mod add;
mod assets;
mod destination;
mod events;
mod failure;
mod form;
mod guard;
mod list;
mod overview;
mod page;
mod paging;
mod resources;
mod session;
mod settings;
mod sign_in;
mod tab_audit;
mod throttle;
pub mod tls;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::context::AppContext;
use session::Sessions;
pub use throttle::BURST as SIGN_IN_BURST;

/// What every console handler shares.
#[derive(Clone)]
pub struct Console {
    ctx: AppContext,
    sessions: Arc<Sessions>,
    /// Sign-in attempts per client address.
    sign_ins: Arc<throttle::SignInLimiter>,
    /// Served over TLS (directly or, as the operator says, behind a TLS-terminating proxy):
    /// the session cookie is then `Secure`.
    secure_cookies: bool,
}

impl Console {
    pub fn new(ctx: AppContext, secure_cookies: bool) -> Self {
        Console {
            ctx,
            sessions: Arc::new(Sessions::default()),
            sign_ins: Arc::new(throttle::SignInLimiter::default()),
            secure_cookies,
        }
    }

    /// Every page and form of the console, behind the session and CSRF guard.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(sign_in::home))
            .route("/sign-in", post(sign_in::sign_in))
            .route("/sign-out", post(sign_in::sign_out))
            .route("/static/{file}", get(assets::asset))
            .route("/integrations", get(list::page))
            .route("/integrations/new", get(add::pick_type))
            .route(
                "/integrations/new/{type}",
                get(add::setup_form).post(add::create),
            )
            .route("/integrations/{id}", get(overview::page))
            .route("/integrations/{id}/events", get(events::stream))
            .route("/integrations/{id}/sync", post(overview::sync_now))
            .route("/integrations/{id}/resources", get(resources::page))
            .route(
                "/integrations/{id}/resources/{resource_id}/sync-mode",
                post(resources::set_sync_mode),
            )
            .route(
                "/integrations/{id}/destination",
                get(destination::page).post(destination::save),
            )
            .route(
                "/integrations/{id}/settings",
                get(settings::page).post(settings::save),
            )
            .route(
                "/integrations/{id}/delete",
                get(settings::confirm_delete).post(settings::delete),
            )
            .route("/integrations/{id}/audit", get(tab_audit::page))
            .route(
                "/resources/{resource_id}/access-history",
                get(tab_audit::access_history),
            )
            .fallback(guard::not_found)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                guard::guard,
            ))
            .with_state(self)
    }
}

impl Console {
    /// The router as a service that knows each connection's peer address (sign-in attempts are
    /// limited per address).
    pub fn app(self) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, Peer> {
        self.router().into_make_service_with_connect_info::<Peer>()
    }
}

/// The address of the client at the other end of a connection, plain or TLS.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub std::net::SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// Serves the console on `listener` until the context's shutdown fires.
pub async fn serve(console: Console, listener: TcpListener) -> std::io::Result<()> {
    let shutdown = console.ctx.shutdown.clone();
    axum::serve(listener, console.app())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
