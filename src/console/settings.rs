//! An integration's Settings tab: its name, setup and sync interval, changed as
//! UpdateIntegration changes them (a new setup is checked against the system first; stored
//! secrets are never shown and a blank secret keeps the stored one), and at the very bottom
//! "Delete integration", confirmed in a dialog that lists the push-mode resources and, when
//! there are any, needs "Delete anyway" ticked. Without JavaScript the same confirmation is a page
//! of its own (`/integrations/{id}/delete`), which the Delete link leads to.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use uuid::Uuid;

use super::failure::Refusal;
use super::form::{self, Fields};
use super::session::Signed;
use super::{Console, failure, page};
use crate::connectors::IntegrationKind;
use crate::domain::integrations::{self, IntegrationUpdate, IntegrationView};
use crate::domain::resources;
use crate::error::{AppError, AppResult};
use crate::model::SyncMode;

/// Resources looked through for push-mode ones before a delete.
const RESOURCES_LOOKED_AT: i64 = 10_000;

pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
) -> Response {
    match loaded(&console, &signed, id).await {
        Ok((view, pushed)) => render(&view, &pushed, &signed, None, None),
        Err(error) => failure::page(error, Some(&signed)),
    }
}

/// The integration, and for an admin who may delete it its push-mode resources (the dialog
/// lists them).
async fn loaded(
    console: &Console,
    signed: &Signed,
    id: Uuid,
) -> AppResult<(IntegrationView, Vec<resources::ResourceRow>)> {
    let view = integrations::get(&console.ctx, id).await?;
    let pushed = if page::is_admin(signed) && view.row.deleted_at.is_none() {
        push_mode_resources(console, id).await?
    } else {
        Vec::new()
    };
    Ok((view, pushed))
}

fn stored_config(view: &IntegrationView) -> BTreeMap<String, String> {
    serde_json::from_value(view.row.config.clone()).unwrap_or_default()
}

/// The tab; `entered` (a refused form's values) replaces the stored ones.
fn render(
    view: &IntegrationView,
    pushed: &[resources::ResourceRow],
    signed: &Signed,
    entered: Option<&Fields>,
    refusal: Option<&Refusal>,
) -> Response {
    let Some(kind) = IntegrationKind::from_name(&view.row.integration_type) else {
        return failure::page(
            AppError::Internal(anyhow::anyhow!(
                "integration {} has unknown type {:?}",
                view.row.id,
                view.row.integration_type
            )),
            Some(signed),
        );
    };
    let editable = page::is_admin(signed) && view.row.deleted_at.is_none();
    let (name, interval, config) = match entered {
        Some(fields) => (
            form::value(fields, "name").unwrap_or_default().to_string(),
            form::value(fields, "sync_interval_seconds")
                .unwrap_or_default()
                .to_string(),
            kind.setup_fields()
                .iter()
                .filter(|field| !field.secret)
                .filter_map(|field| {
                    Some((
                        field.name.to_string(),
                        form::value(fields, field.name)?.to_string(),
                    ))
                })
                .collect(),
        ),
        None => (
            view.row.name.clone(),
            view.row.sync_interval_seconds.to_string(),
            stored_config(view),
        ),
    };
    let field_error = refusal.and_then(Refusal::field);
    let mut inputs: Vec<&str> = kind.setup_fields().iter().map(|field| field.name).collect();
    inputs.extend(["name", "sync_interval_seconds"]);
    let id = view.row.id;
    let body = html! {
        @if let Some(message) = refusal.and_then(|refusal| refusal.general(&inputs)) {
            p.message.error role="alert" { (message) }
        }
        @if editable {
            form.card method="post" action=(format!("/integrations/{id}/settings")) novalidate {
                (page::csrf(signed))
                (form::text_input("name", "Name", "What Oblique calls this integration.", &name, field_error))
                fieldset {
                    legend { "Setup" }
                    (form::setup_inputs(kind, &config, field_error, true))
                }
                (form::text_input("sync_interval_seconds", "Sync interval (seconds)",
                    "How often Oblique pulls from the system.", &interval, field_error))
                button type="submit" { "Save changes" }
            }
            section.danger aria-labelledby="delete-heading" {
                h2 #delete-heading { "Delete integration" }
                p {
                    "Stops every sync of this integration at once. Nothing changes in the \
                     system itself; in Oblique its resources and accounts are kept as history."
                }
                // Opens the dialog; without JavaScript, the confirmation page.
                a.button.danger href=(format!("/integrations/{id}/delete"))
                    data-opens="delete-dialog" aria-haspopup="dialog" { "Delete integration" }
            }
            dialog #delete-dialog aria-labelledby="delete-dialog-heading" {
                h2 #delete-dialog-heading { "Delete integration " (view.row.name) "?" }
                (delete_form(id, pushed, signed, "dialog-"))
            }
        } @else {
            (read_only(&name, &interval, &config))
        }
    };
    let status = refusal.map_or(http::StatusCode::OK, |refusal| refusal.status);
    (status, page::integration(view, "Settings", signed, body)).into_response()
}

fn read_only(name: &str, interval: &str, config: &BTreeMap<String, String>) -> Markup {
    html! {
        dl.settings {
            dt { "Name" } dd { (name) }
            dt { "Sync interval (seconds)" } dd { (interval) }
            @for (key, value) in config { dt { (key) } dd { code { (value) } } }
        }
    }
}

pub async fn save(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
    Form(fields): Form<Fields>,
) -> Response {
    if !page::is_admin(&signed) {
        return failure::admin_only(&signed);
    }
    let (view, pushed) = match loaded(&console, &signed, id).await {
        Ok(loaded) => loaded,
        Err(error) => return failure::page(error, Some(&signed)),
    };
    let saved = match update_of(&view, &fields) {
        Ok(update) => integrations::update(&console.ctx, &signed.principal, id, update).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(_) => Redirect::to(&format!("/integrations/{id}/settings")).into_response(),
        Err(error) => render(
            &view,
            &pushed,
            &signed,
            Some(&fields),
            Some(&Refusal::of(error)),
        ),
    }
}

/// The fields the form changes: the setup only when it differs from the stored one (or a new
/// secret was entered), so that renaming does not contact the system.
fn update_of(view: &IntegrationView, fields: &Fields) -> AppResult<IntegrationUpdate> {
    let kind = IntegrationKind::from_name(&view.row.integration_type)
        .ok_or_else(|| AppError::invalid("type", "unknown integration type"))?;
    let name = form::name_of(fields)?;
    let interval = form::sync_interval_of(fields)?;
    let config = form::config_of(kind, fields)?;
    let credentials = form::credentials_of(kind, fields)?;
    let mut update = IntegrationUpdate {
        name: (name != view.row.name).then_some(name),
        sync_interval_seconds: interval
            .filter(|seconds| *seconds != view.row.sync_interval_seconds),
        ..Default::default()
    };
    if !credentials.is_empty() {
        update.credentials = Some(credentials);
        update.config = Some(config);
    } else if config != stored_config(view) {
        update.config = Some(config);
    }
    Ok(update)
}

/// The push-mode resources a delete would leave as they are in the system.
async fn push_mode_resources(
    console: &Console,
    id: Uuid,
) -> AppResult<Vec<resources::ResourceRow>> {
    let (rows, _) = resources::list(&console.ctx, id, None, RESOURCES_LOOKED_AT, false).await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.sync_mode == SyncMode::Push)
        .collect())
}

pub async fn confirm_delete(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
) -> Response {
    if !page::is_admin(&signed) {
        return failure::admin_only(&signed);
    }
    confirmation(&console, &signed, id, None).await
}

async fn confirmation(
    console: &Console,
    signed: &Signed,
    id: Uuid,
    refusal: Option<Refusal>,
) -> Response {
    let loaded = async {
        let view = integrations::get(&console.ctx, id).await?;
        let pushed = push_mode_resources(console, id).await?;
        Ok::<_, AppError>((view, pushed))
    };
    let (view, pushed) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure::page(error, Some(signed)),
    };
    let body = html! {
        h2 { "Delete integration " (view.row.name) "?" }
        @if let Some(refusal) = &refusal {
            p.message.error role="alert" { (refusal.general(&[]).unwrap_or_default()) }
        }
        (delete_form(id, &pushed, signed, ""))
    };
    let status = refusal
        .as_ref()
        .map_or(http::StatusCode::OK, |refusal| refusal.status);
    (status, page::integration(&view, "Settings", signed, body)).into_response()
}

/// The confirmation: the push-mode resources, "Delete anyway" when there are any (required by
/// the browser; the use case refuses without it too), Cancel and Delete. In the dialog (`ids`
/// "dialog-") Cancel closes it; on the page it goes back to Settings.
fn delete_form(id: Uuid, pushed: &[resources::ResourceRow], signed: &Signed, ids: &str) -> Markup {
    let in_dialog = !ids.is_empty();
    let force = format!("{ids}force");
    let force_help = format!("{ids}force-help");
    html! {
        @if pushed.is_empty() {
            p { "No resource is in push mode." }
        } @else {
            p id=(force_help) {
                "These resources are in push mode. Stop syncing them first (Resources tab), or \
                 delete anyway: they stay in the system with their last pushed members."
            }
            ul.pushed { @for row in pushed { li { (row.name) } } }
        }
        form.card method="post" action=(format!("/integrations/{id}/delete")) {
            (page::csrf(signed))
            @if !pushed.is_empty() {
                div.field.check {
                    input id=(force) type="checkbox" name="force" required[in_dialog]
                        aria-describedby=(force_help);
                    label for=(force) { "Delete anyway, leaving the push-mode resources as they are" }
                }
            }
            div.actions {
                @if in_dialog {
                    button type="submit" formmethod="dialog" formnovalidate { "Cancel" }
                } @else {
                    a href=(format!("/integrations/{id}/settings")) { "Cancel" }
                }
                button.danger type="submit" { "Delete integration" }
            }
        }
    }
}

pub async fn delete(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
    Form(fields): Form<Fields>,
) -> Response {
    if !page::is_admin(&signed) {
        return failure::admin_only(&signed);
    }
    let force = form::checked(&fields, "force");
    match integrations::delete(&console.ctx, &signed.principal, id, force).await {
        Ok(_) => Redirect::to("/integrations").into_response(),
        Err(error @ AppError::FailedPrecondition(_)) => {
            confirmation(&console, &signed, id, Some(Refusal::of(error))).await
        }
        Err(error) => failure::page(error, Some(&signed)),
    }
}
