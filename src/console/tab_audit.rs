//! History pages: an integration's Audit log tab (admin only, as ListAuditEvents) and a
//! resource's access history (grants and revocations, as ListAccessHistory; it resolves
//! resources of deleted integrations too).

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use uuid::Uuid;

use super::session::Signed;
use super::{Console, failure, page};
use crate::domain::access::{self, AccessOf};
use crate::domain::audit::{self, AuditFilter};
use crate::domain::{integrations, resources};
use crate::error::AppError;

const EVENTS_SHOWN: i64 = 200;

pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
) -> Response {
    if !page::is_admin(&signed) {
        return failure::admin_only(&signed);
    }
    let filter = AuditFilter {
        integration_id: Some(id),
        ..Default::default()
    };
    let loaded = async {
        let view = integrations::get(&console.ctx, id).await?;
        let events = audit::list(&console.ctx, &filter, None, EVENTS_SHOWN).await?;
        Ok::<_, AppError>((view, events))
    };
    let (view, events) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure::page(error, Some(&signed)),
    };
    let body = html! {
        @if events.is_empty() {
            p { "No events." }
        } @else {
            table.audit.stack {
                thead { tr { th scope="col" { "When" } th scope="col" { "Who" }
                    th scope="col" { "Action" } th scope="col" { "Details" } } }
                tbody {
                    @for event in &events {
                        tr {
                            td data-label="When" { (page::time(Some(event.at))) }
                            td data-label="Who" { (event.actor_name) " (" (event.actor_role) ")" }
                            td.action data-label="Action" { (event.action.as_str()) }
                            td data-label="Details" { code { (event.details.to_string()) } }
                        }
                    }
                }
            }
        }
    };
    page::integration(&view, "Audit log", &signed, body)
}

pub async fn access_history(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(resource_id): Path<Uuid>,
) -> Response {
    let loaded = async {
        let (resource, _) = resources::get(&console.ctx, resource_id).await?;
        let history = access::history(
            &console.ctx,
            AccessOf::Resource(resource_id),
            None,
            EVENTS_SHOWN,
        )
        .await?;
        Ok::<_, AppError>((resource, history))
    };
    let (resource, history) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure::page(error, Some(&signed)),
    };
    let title = format!("Access history of {}", resource.name);
    let body = html! {
        p.crumbs {
            a href=(format!("/integrations/{}/resources", resource.integration_id)) { "Resources" } " › "
        }
        h1 { (title) }
        @if resource.deleted_at.is_some() { p { "This resource is deleted; its history is kept." } }
        @if history.rows.is_empty() {
            p { "No grants or revocations." }
        } @else {
            table.history.stack {
                thead { tr { th scope="col" { "When" } th scope="col" { "What" }
                    th scope="col" { "User" } th scope="col" { "By" } th scope="col" { "Reason" } } }
                tbody {
                    @for row in &history.rows {
                        @let grant = history.grants.get(&row.grant_id).map(|view| &view.grant);
                        tr {
                            td data-label="When" { (page::time(Some(row.at))) }
                            td data-label="What" { (row.action.as_str()) }
                            td data-label="User" { (grant.map(|g| g.user_id.to_string()).unwrap_or_default()) }
                            td data-label="By" { (grant.map(|g| g.granted_by.as_str()).unwrap_or_default()) }
                            td data-label="Reason" { (grant.map(|g| g.reason.as_str()).unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    };
    page::layout(&title, Some(&signed), body).into_response()
}
