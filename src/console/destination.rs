//! An integration's Destination tab: "Create resources for new teams" (off by default). When
//! on, each team created in Oblique gets a push-mode resource in this integration.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use uuid::Uuid;

use super::form::{self, Fields};
use super::session::Signed;
use super::{Console, failure, page};
use crate::connectors::IntegrationKind;
use crate::domain::integrations::{self, IntegrationUpdate};

const SWITCH: &str = "create_resources_for_new_teams";

pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
) -> Response {
    let view = match integrations::get(&console.ctx, id).await {
        Ok(view) => view,
        Err(error) => return failure::page(error, Some(&signed)),
    };
    let can_create = IntegrationKind::from_name(&view.row.integration_type)
        .is_some_and(|kind| kind.capabilities().can_create_resources);
    let on = view.row.create_resources_for_new_teams;
    let editable = page::is_admin(&signed) && view.row.deleted_at.is_none() && can_create;
    let body = html! {
        @if !can_create {
            p { "Integrations of this type cannot create resources." }
        }
        form.card method="post" action=(format!("/integrations/{id}/destination")) {
            (page::csrf(&signed))
            div.field.check {
                input #(SWITCH) type="checkbox" role="switch" name=(SWITCH) checked[on]
                    disabled[!editable] aria-describedby="switch-help";
                label for=(SWITCH) { "Create resources for new teams" }
            }
            p.help #switch-help {
                "When a team is created in Oblique, create a matching resource here and keep its \
                 members pushed."
            }
            @if editable { button type="submit" { "Save" } }
        }
    };
    page::integration(&view, "Destination", &signed, body)
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
    let update = IntegrationUpdate {
        create_resources_for_new_teams: Some(form::checked(&fields, SWITCH)),
        ..Default::default()
    };
    match integrations::update(&console.ctx, &signed.principal, id, update).await {
        Ok(_) => Redirect::to(&format!("/integrations/{id}/destination")).into_response(),
        Err(error) => failure::page(error, Some(&signed)),
    }
}
