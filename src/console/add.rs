//! "Add integration": pick a type from the connector catalogue, fill in its setup, create. The
//! create use case checks the credentials against the system before anything is saved; a
//! refusal comes back as the form again, with what was entered (never a secret) and the message
//! next to the field it names.

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
use crate::connectors::{IntegrationKind, Setup};
use crate::domain::integrations::{
    self, DEFAULT_MAX_DELETION_PERCENT, DEFAULT_SYNC_INTERVAL_SECONDS, NewIntegrationInput,
};
use crate::error::{AppError, AppResult};

pub async fn pick_type(Extension(signed): Extension<Signed>) -> Response {
    if !page::is_admin(&signed) {
        return failure::admin_only(&signed);
    }
    let body = html! {
        h1 { "Add integration" }
        p { "Pick the kind of system to connect." }
        ul.types {
            @for kind in IntegrationKind::ALL {
                @let capabilities = kind.capabilities();
                li {
                    a href=(format!("/integrations/new/{}", kind.name())) { (kind.display_name()) }
                    " "
                    span.help {
                        "(" (kind.name()) "; "
                        @if capabilities.can_push { "pulls and pushes" } @else { "pulls only" }
                        @if capabilities.can_create_resources { "; can create resources for new teams" }
                        ")"
                    }
                }
            }
        }
    };
    page::layout("Add integration", Some(&signed), body).into_response()
}

pub async fn setup_form(
    Extension(signed): Extension<Signed>,
    Path(type_name): Path<String>,
) -> Response {
    if !page::is_admin(&signed) {
        return failure::admin_only(&signed);
    }
    let Some(kind) = IntegrationKind::from_name(&type_name) else {
        return failure::page(
            AppError::not_found(format!("integration type {type_name:?}")),
            Some(&signed),
        );
    };
    let defaults: BTreeMap<String, String> = kind
        .setup_fields()
        .iter()
        .filter(|field| !field.secret)
        .filter_map(|field| Some((field.name.to_string(), field.default?.to_string())))
        .collect();
    let entered = Entered {
        name: String::new(),
        config: defaults,
        sync_interval: DEFAULT_SYNC_INTERVAL_SECONDS.to_string(),
        create_resources_for_new_teams: false,
        request_id: Uuid::new_v4().to_string(),
    };
    render(kind, &signed, &entered, None).into_response()
}

/// What the form holds: what was entered, secrets left out.
struct Entered {
    name: String,
    config: BTreeMap<String, String>,
    sync_interval: String,
    create_resources_for_new_teams: bool,
    request_id: String,
}

fn render(
    kind: IntegrationKind,
    signed: &Signed,
    entered: &Entered,
    refusal: Option<&Refusal>,
) -> Markup {
    let field_error = refusal.and_then(Refusal::field);
    let mut inputs: Vec<&str> = kind.setup_fields().iter().map(|field| field.name).collect();
    inputs.extend(["name", "sync_interval_seconds"]);
    let title = format!("Add a {} integration", kind.display_name());
    let body = html! {
        h1 { (title) }
        @if let Some(message) = refusal.and_then(|refusal| refusal.general(&inputs)) {
            p.message.error role="alert" { (message) }
        }
        form.card method="post" action=(format!("/integrations/new/{}", kind.name())) novalidate {
            (page::csrf(signed))
            input type="hidden" name="request_id" value=(entered.request_id);
            (form::text_input("name", "Name", "What Oblique calls this integration.", &entered.name, field_error))
            fieldset {
                legend { "Setup" }
                (form::setup_inputs(kind, &entered.config, field_error, false))
            }
            (form::text_input("sync_interval_seconds", "Sync interval (seconds)",
                "How often Oblique pulls from the system.", &entered.sync_interval, field_error))
            div.field.check {
                input #create_resources_for_new_teams type="checkbox"
                    name="create_resources_for_new_teams" checked[entered.create_resources_for_new_teams];
                label for="create_resources_for_new_teams" { "Create resources for new teams" }
            }
            button type="submit" { "Create integration" }
        }
    };
    page::layout(&title, Some(signed), body)
}

pub async fn create(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(type_name): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    if !page::is_admin(&signed) {
        return failure::admin_only(&signed);
    }
    let Some(kind) = IntegrationKind::from_name(&type_name) else {
        return failure::page(
            AppError::not_found(format!("integration type {type_name:?}")),
            Some(&signed),
        );
    };
    let outcome = match input_of(kind, &fields) {
        Ok(input) => integrations::create(&console.ctx, &signed.principal, input).await,
        Err(error) => Err(error),
    };
    let error = match outcome {
        Ok(view) => return Redirect::to(&format!("/integrations/{}", view.row.id)).into_response(),
        Err(error) => error,
    };
    let entered = Entered {
        name: form::value(&fields, "name").unwrap_or_default().to_string(),
        config: kind
            .setup_fields()
            .iter()
            .filter(|field| !field.secret)
            .filter_map(|field| {
                let value = form::value(&fields, field.name)?;
                Some((field.name.to_string(), value.to_string()))
            })
            .collect(),
        sync_interval: form::value(&fields, "sync_interval_seconds")
            .unwrap_or_default()
            .to_string(),
        create_resources_for_new_teams: form::checked(&fields, "create_resources_for_new_teams"),
        request_id: form::value(&fields, "request_id")
            .unwrap_or_default()
            .to_string(),
    };
    let refusal = Refusal::of(error);
    (
        refusal.status,
        render(kind, &signed, &entered, Some(&refusal)),
    )
        .into_response()
}

/// The create input of a form, each field checked as the gRPC edge checks it.
fn input_of(kind: IntegrationKind, fields: &Fields) -> AppResult<NewIntegrationInput> {
    let name = form::name_of(fields)?;
    let setup = Setup::check(
        kind.setup_fields(),
        form::config_of(kind, fields)?,
        form::credentials_of(kind, fields)?,
    )?;
    let request_id = form::value(fields, "request_id")
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= 200 && !id.contains('\0'))
        .map(str::to_string);
    Ok(NewIntegrationInput {
        kind,
        name,
        setup,
        create_resources_for_new_teams: form::checked(fields, "create_resources_for_new_teams"),
        sync_interval_seconds: form::sync_interval_of(fields)?
            .unwrap_or(DEFAULT_SYNC_INTERVAL_SECONDS),
        max_deletion_percent: DEFAULT_MAX_DELETION_PERCENT,
        link_users_by: None,
        request_id,
    })
}
