//! What every console request passes first: the session (revalidated against the token on each
//! request), for a form also the origin and the CSRF token, and on the way out the headers that
//! keep pages out of frames, caches and other sites' scripts.
//!
//! CSRF is refused three ways over: the cookie is `SameSite=Strict` (a browser does not send it
//! from another site), a POST whose `Origin` (or `Sec-Fetch-Site`) names another site is refused,
//! and every form carries the session's synchroniser token in its `csrf` field, checked here
//! before any handler runs. Roles are checked by the handlers, as the gRPC handlers do.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use super::session::{self, CSRF_FIELD, Signed};
use super::{Console, failure, page};
use crate::domain::tokens;

/// A form is never larger than this (a CA certificate in PEM is the largest field).
const MAX_FORM_BYTES: usize = 256 * 1024;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

pub async fn guard(State(console): State<Console>, request: Request, next: Next) -> Response {
    let mut response = checked(&console, request, next).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: with it a browser sends `Origin: null` on the console's own forms.
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages show what a signed-in admin may see: never kept by a shared or back-button cache.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn checked(console: &Console, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let is_form = request.method() == Method::POST;
    let public = path.starts_with("/static/")
        || (request.method() == Method::GET && path == "/")
        || (is_form && path == "/sign-in");
    if is_form && !same_origin(request.headers()) {
        return page::message(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was sent from another site.",
            None,
        );
    }
    let signed = match current_session(console, request.headers()).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let Some(signed) = signed else {
        if public {
            return next.run(request).await;
        }
        if is_form {
            return page::message(
                StatusCode::FORBIDDEN,
                "Signed out",
                "Your session has ended; sign in again.",
                None,
            );
        }
        return Redirect::to("/").into_response();
    };
    if is_form && path != "/sign-in" {
        request = match with_checked_csrf(request, &signed).await {
            Ok(request) => request,
            Err(response) => return response,
        };
    }
    request.extensions_mut().insert(signed);
    next.run(request).await
}

/// The request's session, if it has a live one whose token is still active. A session whose
/// token was revoked ends here.
async fn current_session(
    console: &Console,
    headers: &HeaderMap,
) -> Result<Option<Signed>, Response> {
    let Some(id) = session::session_id(headers) else {
        return Ok(None);
    };
    let Some(signed) = console.sessions.find(&id) else {
        return Ok(None);
    };
    match tokens::active_principal(&console.ctx, signed.token_id).await {
        Ok(Some(principal)) => {
            if principal != signed.principal {
                console.sessions.refresh(&id, principal.clone());
            }
            Ok(Some(Signed {
                principal,
                ..signed
            }))
        }
        Ok(None) => {
            console.sessions.end(&id);
            Ok(None)
        }
        Err(error) => Err(failure::page(error, None)),
    }
}

/// The request again, its body read to check the form's CSRF token; a mismatch is refused
/// before any handler sees the form.
async fn with_checked_csrf(request: Request, signed: &Signed) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let refused =
        |message: &str| page::message(StatusCode::FORBIDDEN, "Refused", message, Some(signed));
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return Err(page::message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Refused",
            "This form is too large.",
            Some(signed),
        ));
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let presented = fields
        .iter()
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.as_str());
    match presented {
        Some(token) if session::csrf_matches(signed, token) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refused(
            "This form's security token is missing or out of date: reload the page and try again.",
        )),
    }
}

/// False when the browser says the request comes from another site. Clients that are not
/// browsers send neither header; they cannot ride on a signed-in browser's cookie anyway.
fn same_origin(headers: &HeaderMap) -> bool {
    // Browsers that send it say exactly this; older ones send only `Origin`.
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|origin| {
        origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
    });
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

pub async fn not_found(signed: Option<axum::Extension<Signed>>) -> Response {
    page::message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page.",
        signed.as_ref().map(|s| &s.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn forms_from_another_site_are_refused() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
    }
}
