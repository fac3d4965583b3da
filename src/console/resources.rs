//! An integration's Resources tab: each resource's sync mode, switched as SetResourceSyncMode
//! does ("Stop syncing" puts a push-mode resource back to pull).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use uuid::Uuid;

use super::form::{self, Fields};
use super::paging::{self, PageAt};
use super::session::Signed;
use super::{Console, failure, page};
use crate::connectors::IntegrationKind;
use crate::domain::integrations::{self, IntegrationView};
use crate::domain::resources::{self, ResourceRow};
use crate::domain::sync_mode;
use crate::error::AppError;
use crate::model::SyncMode;

/// Resources shown on one page of the tab.
const PAGE_SIZE: i64 = 1000;

pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
    Query(at): Query<PageAt>,
) -> Response {
    let ctx = &console.ctx;
    let loaded = async {
        let after = at.after()?;
        let view = integrations::get(ctx, id).await?;
        let (rows, _) = resources::list(ctx, id, after, paging::ask_for(PAGE_SIZE), false).await?;
        Ok::<_, AppError>((after, view, rows))
    };
    let (after, view, rows) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure::page(error, Some(&signed)),
    };
    let (rows, next) = paging::split(rows, PAGE_SIZE, |row| row.id);
    let path = format!("/integrations/{id}/resources");
    let body = html! {
        @if rows.is_empty() {
            p { "No resources synced yet." }
        } @else {
            table.resources.stack {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Type" }
                    th scope="col" { "Sync mode" } th scope="col" { "Propagation" }
                    @if page::is_admin(&signed) { th scope="col" { "Change" } } } }
                tbody { @for row in &rows { (resource_row(&view, row, &signed)) } }
            }
        }
        (paging::links(&path, after, next))
    };
    page::integration(&view, "Resources", &signed, body)
}

fn resource_row(view: &IntegrationView, row: &ResourceRow, signed: &Signed) -> Markup {
    let can_push = IntegrationKind::from_name(&view.row.integration_type)
        .is_some_and(|kind| kind.capabilities().can_push);
    let live = view.row.deleted_at.is_none();
    let action = format!(
        "/integrations/{}/resources/{}/sync-mode",
        view.row.id, row.id
    );
    html! {
        tr {
            td data-label="Name" { a href=(format!("/resources/{}/access-history", row.id)) { (row.name) } }
            td data-label="Type" { (row.resource_type.as_str()) }
            td data-label="Sync mode" { span.mode data-mode=(row.sync_mode.as_str()) { (row.sync_mode.as_str()) } }
            td data-label="Propagation" {
                (row.propagation_status.as_str())
                @if let Some(error) = &row.propagation_error { ": " (error) }
            }
            @if page::is_admin(signed) {
                td data-label="Change" {
                    @if live {
                        form method="post" action=(action) {
                            (page::csrf(signed))
                            @match row.sync_mode {
                                SyncMode::Push => {
                                    input type="hidden" name="sync_mode" value="pull";
                                    button type="submit" aria-label=(format!("Stop syncing {}", row.name)) { "Stop syncing" }
                                }
                                SyncMode::Pull if can_push => {
                                    input type="hidden" name="sync_mode" value="push";
                                    button type="submit" aria-label=(format!("Push {}", row.name)) { "Push from Oblique" }
                                }
                                SyncMode::Pull => {}
                            }
                        }
                    }
                }
            }
        }
    }
}

pub async fn set_sync_mode(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path((id, resource_id)): Path<(Uuid, Uuid)>,
    Form(fields): Form<Fields>,
) -> Response {
    if !page::is_admin(&signed) {
        return failure::admin_only(&signed);
    }
    let mode = match form::value(&fields, "sync_mode") {
        Some("push") => SyncMode::Push,
        Some("pull") => SyncMode::Pull,
        _ => {
            return failure::page(
                AppError::invalid("sync_mode", "must be \"push\" or \"pull\""),
                Some(&signed),
            );
        }
    };
    let changed = async {
        let (resource, _) = resources::get(&console.ctx, resource_id).await?;
        if resource.integration_id != id {
            return Err(AppError::not_found(format!("resource {resource_id}")));
        }
        sync_mode::set_resource_sync_mode(&console.ctx, &signed.principal, resource_id, mode).await
    };
    match changed.await {
        Ok(_) => Redirect::to(&format!("/integrations/{id}/resources")).into_response(),
        Err(error) => failure::page(error, Some(&signed)),
    }
}
