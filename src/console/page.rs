//! The frame every console page shares, and the small pieces pages are made of. maud escapes
//! every value it is given; nothing here writes unescaped text except the fixed doctype.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::session::{CSRF_FIELD, Signed};
use crate::model::Role;

/// A whole page: header with who is signed in, then `body`.
pub fn layout(title: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Oblique" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    a.brand href="/" { "Oblique" }
                    @if let Some(signed) = signed {
                        nav aria-label="Main" {
                            a href="/integrations" { "Integrations" }
                        }
                        form.sign-out method="post" action="/sign-out" {
                            (csrf(signed))
                            span.who {
                                (signed.principal.name) " (" (signed.principal.role) ")"
                            }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// The hidden field that carries the session's CSRF token; every form has it.
pub fn csrf(signed: &Signed) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(signed.csrf); }
}

pub fn is_admin(signed: &Signed) -> bool {
    signed.principal.role >= Role::Admin
}

/// A page with a title and one message, with its status.
pub fn message(status: StatusCode, title: &str, text: &str, signed: Option<&Signed>) -> Response {
    let body = html! {
        h1 { (title) }
        p.message role="alert" { (text) }
        p { a href="/" { "Back to the start" } }
    };
    (status, layout(title, signed, body)).into_response()
}

pub fn time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => html! {
            time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) }
        },
        None => html! { "never" },
    }
}

/// The tabs of an integration's page; `active` is the one shown.
pub fn tabs(integration_id: uuid::Uuid, active: &str, signed: &Signed) -> Markup {
    let mut tabs = vec![
        ("Overview", format!("/integrations/{integration_id}")),
        (
            "Resources",
            format!("/integrations/{integration_id}/resources"),
        ),
        (
            "Destination",
            format!("/integrations/{integration_id}/destination"),
        ),
        (
            "Settings",
            format!("/integrations/{integration_id}/settings"),
        ),
    ];
    if is_admin(signed) {
        tabs.push(("Audit log", format!("/integrations/{integration_id}/audit")));
    }
    html! {
        nav.tabs aria-label="Integration" {
            ul {
                @for (name, href) in &tabs {
                    li {
                        @if *name == active {
                            a href=(href) aria-current="page" { (name) }
                        } @else {
                            a href=(href) { (name) }
                        }
                    }
                }
            }
        }
    }
}

/// A field's error message, tied to its input by id (`{name}-error`, which the input names in
/// `aria-describedby`).
pub fn field_error(name: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            p.field-error id=(format!("{name}-error")) role="alert" { (error) }
        }
    }
}

/// An integration's page: its name, type and status above the tabs, then `body`.
pub fn integration(
    view: &crate::domain::integrations::IntegrationView,
    tab: &str,
    signed: &Signed,
    body: Markup,
) -> Response {
    let integration = &view.row;
    let title = format!("{} · {tab}", integration.name);
    let content = html! {
        p.crumbs { a href="/integrations" { "Integrations" } " › " }
        h1 { (integration.name) }
        p.summary {
            "Type " code { (integration.integration_type) } " · "
            @if integration.deleted_at.is_some() { strong { "deleted" } } @else { "active" }
            " · " (view.resource_count) " resources · " (view.account_count) " accounts"
        }
        (tabs(integration.id, tab, signed))
        section.tab-body aria-label=(tab) { (body) }
    };
    layout(&title, Some(signed), content).into_response()
}
