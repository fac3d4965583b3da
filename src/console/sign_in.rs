//! Signing in with an API token (the token the gRPC API takes, checked the same way) and out.

use std::net::{IpAddr, Ipv4Addr};

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use http::{HeaderMap, StatusCode, header};
use maud::{Markup, html};
use secrecy::SecretString;
use serde::Deserialize;

use super::paging::PageAt;
use super::session::{self, Signed};
use super::{Console, Peer, failure, list, page};
use crate::auth::token;
use crate::error::AppError;

/// `/`: the integrations for a signed-in browser, the sign-in form for any other.
pub async fn home(State(console): State<Console>, signed: Option<Extension<Signed>>) -> Response {
    match signed {
        Some(Extension(signed)) => list::render(&console, &signed, &PageAt::default()).await,
        None => page::layout("Sign in", None, form(None)).into_response(),
    }
}

fn form(error: Option<&str>) -> Markup {
    html! {
        h1 { "Sign in" }
        form.card method="post" action="/sign-in" {
            label for="token" { "API token" }
            p.help id="token-help" {
                "An Oblique API token (admin, service or viewer), as "
                code { "oblique token create" } " prints it."
            }
            input #token type="password" name="token" required autocomplete="off"
                autofocus aria-describedby="token-help token-error";
            (page::field_error("token", error))
            button type="submit" { "Sign in" }
        }
    }
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
}

pub async fn sign_in(
    State(console): State<Console>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    Form(input): Form<SignInForm>,
) -> Response {
    // Before the token is looked at: a refusal here tells nothing about it.
    let address = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.0.0.0.ip());
    if let Err(wait) = console.sign_ins.attempt(address) {
        let seconds = wait.as_secs() + 1;
        tracing::warn!(%address, "console sign-in refused: too many attempts");
        let message = format!(
            "Too many sign-in attempts from your address. Wait {seconds} seconds, then try again."
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            page::layout("Sign in", None, form(Some(&message))),
        )
            .into_response();
    }
    let presented = SecretString::from(input.token.trim().to_string());
    match authenticate(&console, &presented).await {
        Ok((principal, token_id)) => {
            // Signing in again (as someone else, perhaps) ends the browser's earlier session.
            if let Some(earlier) = session::session_id(&headers) {
                console.sessions.end(&earlier);
            }
            tracing::info!(token = %principal.name, role = %principal.role, "console sign-in");
            let id = console.sessions.start(principal, token_id);
            let cookie = session::cookie(&id, console.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Err(AppError::Unauthenticated(message)) => (
            StatusCode::UNAUTHORIZED,
            page::layout("Sign in", None, form(Some(&message))),
        )
            .into_response(),
        Err(other) => failure::page(other, None),
    }
}

/// The principal and the row id of a presented token, as the gRPC auth layer would find them;
/// garbage is refused before a connection is taken.
async fn authenticate(
    console: &Console,
    presented: &SecretString,
) -> Result<(crate::model::Principal, uuid::Uuid), AppError> {
    use secrecy::ExposeSecret;
    if !token::is_well_formed(presented) {
        return Err(token::refused());
    }
    let token_id = session::token_row_id(presented.expose_secret()).ok_or_else(token::refused)?;
    let mut conn = console.ctx.pool.get().await?;
    let principal = token::authenticate(&mut conn, presented).await?;
    Ok((principal, token_id))
}

pub async fn sign_out(State(console): State<Console>, headers: HeaderMap) -> Response {
    if let Some(id) = session::session_id(&headers) {
        console.sessions.end(&id);
    }
    let cookie = session::cleared_cookie(console.secure_cookies);
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}
