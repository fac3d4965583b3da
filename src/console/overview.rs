//! An integration's Overview tab: the run going on (followed live), the last runs, and the
//! objects its syncs could not read.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use uuid::Uuid;

use super::session::Signed;
use super::{Console, failure, page};
use crate::domain::integrations;
use crate::domain::runs::{self, RunOptions, SyncErrorRow, SyncRunRow};
use crate::model::Role;
use crate::model::run_stats::RunStats;

const RUNS_SHOWN: i64 = 10;
const ERRORS_SHOWN: i64 = 100;

pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
) -> Response {
    let ctx = &console.ctx;
    let loaded = async {
        let view = integrations::get(ctx, id).await?;
        let runs = runs::list(ctx, Some(id), None, RUNS_SHOWN).await?;
        let errors = runs::errors(ctx, id, None, ERRORS_SHOWN).await?;
        Ok((view, runs, errors))
    };
    let (view, runs, errors) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return failure::page(error, Some(&signed)),
    };
    let active = runs.first().filter(|run| !run.state.is_finished());
    let live = view.row.deleted_at.is_none();
    let body = html! {
        @if let Some(run) = active {
            // console.js follows the run here: each event's line in `data-progress`; at the end
            // the run's state in `data-state` (and in its row below) and the link shows.
            section #live aria-live="polite" aria-labelledby="live-heading"
                data-events=(format!("/integrations/{id}/events")) data-run=(run.id) {
                h2 #live-heading { "Sync in progress" }
                p data-progress { (run.state.as_str()) @if let Some(phase) = run.phase { ": " (phase.as_str()) } }
                p data-done hidden { a href=(format!("/integrations/{id}")) { "Show the run's results" } }
            }
        }
        @if live && signed.principal.role >= Role::Service {
            form method="post" action=(format!("/integrations/{id}/sync")) {
                (page::csrf(&signed))
                button type="submit" { "Sync now" }
            }
        }
        h2 { "Last runs" }
        (runs_table(&runs))
        h2 { "Sync errors" }
        (errors_table(&errors))
    };
    page::integration(&view, "Overview", &signed, body)
}

fn runs_table(runs: &[SyncRunRow]) -> Markup {
    html! {
        @if runs.is_empty() {
            p { "No runs yet." }
        } @else {
            table.runs.stack {
                thead { tr { th scope="col" { "Started" } th scope="col" { "Trigger" }
                    th scope="col" { "State" } th scope="col" { "Changes" } th scope="col" { "Error" } } }
                tbody {
                    @for run in runs {
                        @let stats: RunStats = serde_json::from_value(run.stats.clone()).unwrap_or_default();
                        tr data-run=(run.id) {
                            td data-label="Started" { (page::time(run.started_at.or(Some(run.created_at)))) }
                            td data-label="Trigger" { (run.trigger.as_str()) @if run.dry_run { " (dry run)" } }
                            td data-label="State" { span.state data-state=(run.state.as_str()) { (run.state.as_str()) } }
                            td data-label="Changes" {
                                (stats.accounts.changed()) " accounts, "
                                (stats.resources.changed()) " resources, "
                                (stats.access.changed()) " access changed"
                                @if stats.errors > 0 { "; " (stats.errors) " errors" }
                            }
                            td data-label="Error" { (run.error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

fn errors_table(errors: &[SyncErrorRow]) -> Markup {
    html! {
        @if errors.is_empty() {
            p { "None." }
        } @else {
            table.errors.stack {
                thead { tr { th scope="col" { "Object" } th scope="col" { "Message" }
                    th scope="col" { "Last seen" } th scope="col" { "Times" } } }
                tbody {
                    @for error in errors {
                        tr {
                            td data-label="Object" { (error.object) }
                            td data-label="Message" { (error.message) }
                            td data-label="Last seen" { (page::time(Some(error.last_seen))) }
                            td data-label="Times" { (error.count) }
                        }
                    }
                }
            }
        }
    }
}

/// "Sync now": as TriggerSync, for admin and service tokens.
pub async fn sync_now(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<Uuid>,
) -> Response {
    if signed.principal.role < Role::Service {
        return failure::page(
            crate::error::AppError::PermissionDenied(format!(
                "this needs the service role; token {:?} has {}",
                signed.principal.name, signed.principal.role
            )),
            Some(&signed),
        );
    }
    match runs::trigger(&console.ctx, &signed.principal, id, RunOptions::default()).await {
        Ok(_) => Redirect::to(&format!("/integrations/{id}")).into_response(),
        Err(error) => failure::page(error, Some(&signed)),
    }
}
