//! The Integrations page: every live integration with its type, status, last sync and errors.

use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::paging::{self, PageAt};
use super::session::Signed;
use super::{Console, failure, page};
use crate::domain::integrations::{self, IntegrationView};
use crate::model::run_stats::RunStats;

/// Integrations shown on one page; an installation has a handful, rarely dozens.
const PAGE_SIZE: i64 = 500;

pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Query(at): Query<PageAt>,
) -> Response {
    render(&console, &signed, &at).await
}

pub async fn render(console: &Console, signed: &Signed, at: &PageAt) -> Response {
    let loaded = async {
        let after = at.after()?;
        let views =
            integrations::list(&console.ctx, after, paging::ask_for(PAGE_SIZE), false).await?;
        Ok((after, views))
    };
    let (after, views) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure::page(error, Some(signed)),
    };
    let (views, next) = paging::split(views, PAGE_SIZE, |view| view.row.id);
    let body = html! {
        div.title-row {
            h1 { "Integrations" }
            @if page::is_admin(signed) {
                a.button href="/integrations/new" { "Add integration" }
            }
        }
        @if views.is_empty() {
            p { "No integrations yet." }
        } @else {
            table.integrations.stack {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Type" }
                    th scope="col" { "Status" } th scope="col" { "Last sync" }
                    th scope="col" { "Errors" } } }
                tbody {
                    @for view in &views { (row(view)) }
                }
            }
        }
        (paging::links("/integrations", after, next))
    };
    page::layout("Integrations", Some(signed), body).into_response()
}

fn row(view: &IntegrationView) -> Markup {
    let integration = &view.row;
    let status = if integration.deleted_at.is_some() {
        "deleted"
    } else {
        "active"
    };
    html! {
        tr {
            td data-label="Name" { a href=(format!("/integrations/{}", integration.id)) { (integration.name) } }
            td data-label="Type" { (integration.integration_type) }
            td data-label="Status" { (status) }
            td data-label="Last sync" { (last_sync(view)) }
            td data-label="Errors" { (errors(view)) }
        }
    }
}

pub fn last_sync(view: &IntegrationView) -> Markup {
    match &view.last_sync_run {
        Some(run) => html! {
            span.state data-state=(run.state.as_str()) { (run.state.as_str()) }
            @if let Some(at) = run.finished_at.or(run.started_at) {
                ", " (page::time(Some(at)))
            }
        },
        None => html! { "never" },
    }
}

fn errors(view: &IntegrationView) -> Markup {
    let Some(run) = &view.last_sync_run else {
        return html! { "–" };
    };
    let stats: RunStats = serde_json::from_value(run.stats.clone()).unwrap_or_default();
    html! {
        @if let Some(error) = &run.error {
            span.error { (error) }
        } @else if stats.errors > 0 {
            (stats.errors) " object(s) could not be synced"
        } @else {
            "none"
        }
    }
}
