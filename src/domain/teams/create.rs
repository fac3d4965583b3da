//! Creating a team: the team and its members first, then a resource for it in each integration
//! that asks for one. An integration that cannot make one is a warning, not a failure.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use uuid::Uuid;

use super::{TeamDetails, details, ensure_users};
use crate::connectors::{ConnectorError, IntegrationKind, RemoteResource};
use crate::context::AppContext;
use crate::db::audit::{self, AuditEntry};
use crate::db::integrations as integration_store;
use crate::db::intents::{self, Completion, NewIntent};
use crate::db::models::IntegrationRow;
use crate::db::propagations;
use crate::db::retry::transaction_retrying;
use crate::db::runs;
use crate::db::teams::{self as store, NewTeamResource, TeamRow};
use crate::engine::connector::connector_for_integration;
use crate::error::{AppError, AppResult};
use crate::model::{AuditAction, Principal, RemoteOp, RunTrigger};

/// A create request whose fields the api layer checked; `member_user_ids` has no duplicates.
#[derive(Debug)]
pub struct NewTeamInput {
    pub name: String,
    pub member_user_ids: Vec<Uuid>,
}

/// A new team, and why some integrations have no resource for it.
#[derive(Debug)]
pub struct CreatedTeam {
    pub team: TeamDetails,
    pub warnings: Vec<String>,
}

/// Saves the team and its members, then creates its resource in each integration with
/// `create_resources_for_new_teams`. An integration that cannot, or whose system refuses, is
/// reported in `warnings` and the audit log: the team exists either way.
pub async fn create(
    ctx: &AppContext,
    actor: &Principal,
    input: NewTeamInput,
) -> AppResult<CreatedTeam> {
    let mut conn = ctx.pool.get().await?;
    let team = transaction_retrying(&mut conn, "create team", async |conn| {
        ensure_users(conn, &input.member_user_ids).await?;
        let team = match store::insert(conn, Uuid::now_v7(), &input.name)
            .await
            .map_err(AppError::from)
        {
            Err(error) if error.is_unique_violation_on("teams_name") => {
                return Err(AppError::AlreadyExists(format!(
                    "a team named {:?} already exists",
                    input.name
                )));
            }
            other => other?,
        };
        for user_id in &input.member_user_ids {
            store::add_member(conn, team.id, *user_id).await?;
        }
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::TeamCreate,
                integration_id: None,
                resource_id: None,
                details: json!({
                    "team_id": team.id,
                    "name": team.name,
                    "member_user_ids": input.member_user_ids,
                }),
            },
        )
        .await?;
        Ok(team)
    })
    .await?;
    tracing::info!(team_id = %team.id, name = %team.name, "team created");
    let integrations = store::integrations_for_new_teams(&mut conn).await?;
    drop(conn);

    let mut warnings = Vec::new();
    let mut creations = Vec::new();
    for integration in integrations {
        let can_create = IntegrationKind::from_name(&integration.integration_type)
            .is_some_and(|kind| kind.capabilities().can_create_resources);
        if !can_create {
            let reason = format!(
                "integrations of type {} cannot create resources",
                integration.integration_type
            );
            warnings.push(
                report_missing(ctx, actor, &team, &integration, Missing::Skipped, &reason).await,
            );
            continue;
        }
        match connector_for_integration(&ctx.secret_key, &integration) {
            Ok(connector) => creations.push((integration, connector)),
            Err(error) => {
                let reason = safe_reason(&error);
                warnings.push(
                    report_missing(ctx, actor, &team, &integration, Missing::Failed, &reason).await,
                );
            }
        }
    }
    // The remote systems are called at once and with no database connection held: each may
    // take seconds to answer. Each call's intent is written first, so that a crash before its
    // outcome is recorded leaves it for the integration's next run to resolve.
    let team_ref = &team;
    let created = join_all(creations.into_iter().map(|(integration, connector)| {
        let name = team.name.clone();
        async move {
            let attempt = match open_intent(ctx, actor, team_ref, &integration).await {
                Err(error) => Attempt::NotCalled(safe_reason(&error)),
                Ok(intent) => {
                    match tokio::time::timeout(CREATE_WAIT, connector.create_resource(&name)).await
                    {
                        Ok(answer) => Attempt::Answered(intent, answer),
                        Err(_) => Attempt::NoAnswer,
                    }
                }
            };
            (integration, attempt)
        }
    }))
    .await;
    for (integration, attempt) in created {
        if let Attempt::Answered(_, answer) = &attempt {
            ctx.metrics.push("create", answer.is_ok());
        }
        let outcome = match attempt {
            Attempt::Answered(intent, Ok(remote)) => {
                record_resource(ctx, actor, &team, &integration, &remote, intent).await
            }
            Attempt::Answered(intent, Err(error)) => {
                abandon_intent(ctx, intent).await;
                Err(connector_reason(&error))
            }
            Attempt::NotCalled(reason) => Err(reason),
            // It may still be made: the intent stays open for the next run to resolve.
            Attempt::NoAnswer => {
                warnings.push(format!(
                    "integration {:?} ({}): the remote did not answer within {}s; its next sync \
                     records the team's resource if it was made",
                    integration.name,
                    integration.id,
                    CREATE_WAIT.as_secs()
                ));
                continue;
            }
        };
        if let Err(reason) = outcome {
            warnings.push(
                report_missing(ctx, actor, &team, &integration, Missing::Failed, &reason).await,
            );
        }
    }

    let mut conn = ctx.pool.get().await?;
    let team = details(&mut conn, team).await?;
    Ok(CreatedTeam { team, warnings })
}

/// In one transaction: the resource the connector made, the pending push of each member, the
/// run that pushes them and the audit event. `Err` is the reason for the caller's warning.
async fn record_resource(
    ctx: &AppContext,
    actor: &Principal,
    team: &TeamRow,
    integration: &IntegrationRow,
    remote: &RemoteResource,
    intent: Uuid,
) -> Result<(), String> {
    let mut conn = ctx
        .pool
        .get()
        .await
        .map_err(|error| safe_reason(&AppError::from(error)))?;
    let recorded = transaction_retrying(&mut conn, "record team resource", async |conn| {
        // Under the integration's lock, as a delete takes it: a deleted integration never
        // gets a live resource.
        let live = integration_store::find_for_update(conn, integration.id)
            .await?
            .is_some_and(|row| row.deleted_at.is_none());
        if !live {
            return Err(AppError::FailedPrecondition(format!(
                "the integration was deleted meanwhile; the remote {} {:?} was left in place",
                remote.resource_type, remote.name
            )));
        }
        // Under the team's lock, as membership changes take it: each member joining or
        // leaving meanwhile is either in the list below or pushed by its own change.
        store::find_for_update(conn, team.id).await?;
        let new = NewTeamResource {
            integration_id: integration.id,
            team_id: team.id,
            external_id: &remote.external_id,
            resource_type: remote.resource_type,
            name: &remote.name,
            description: &remote.description,
        };
        let resource = store::insert_team_resource(conn, &new)
            .await?
            .ok_or_else(|| {
                AppError::FailedPrecondition(format!(
                    "the remote {} {:?} was created, but its id {:?} is already recorded \
                         for another team",
                    remote.resource_type, remote.name, remote.external_id
                ))
            })?;
        let members = store::current_members(conn, team.id).await?;
        for user_id in &members {
            propagations::mark_pending(conn, resource.id, *user_id).await?;
        }
        runs::request_push(conn, integration.id, RunTrigger::Team, &actor.name).await?;
        let completion = Completion {
            action: None,
            resource_id: Some(resource.id),
            details: json!({
                "external_id": resource.external_id,
                "resource_type": resource.resource_type,
                "member_user_ids": members,
            }),
        };
        if !intents::complete(conn, intent, completion).await? {
            return Err(AppError::FailedPrecondition(format!(
                "the remote {} {:?} was created after its creation had been given up; the \
                 integration's next sync records it",
                remote.resource_type, remote.name
            )));
        }
        Ok(resource)
    })
    .await;
    match recorded {
        Ok(resource) => {
            tracing::info!(team_id = %team.id, integration_id = %integration.id, resource_id = %resource.id, "team resource created");
            Ok(())
        }
        Err(error) => Err(safe_reason(&error)),
    }
}

/// What asking one integration's remote for the team's resource came to.
enum Attempt {
    /// Its intent could not be written, so the remote was not called.
    NotCalled(String),
    Answered(Uuid, Result<RemoteResource, ConnectorError>),
    NoAnswer,
}

/// How long a team's creation waits for each remote system. Longer than any connector's own
/// timeouts; past it the remote may still make the resource, and its intent is left to resolve.
const CREATE_WAIT: Duration = Duration::from_secs(120);

/// No run resolves a creation's intent before this: by then its writer has recorded the
/// outcome or stopped waiting, and a remote that was still working on it has answered.
const RESOLVABLE_AFTER: Duration = Duration::from_secs(300);

/// Writes the intent to create the team's resource in the integration, with its audit draft.
async fn open_intent(
    ctx: &AppContext,
    actor: &Principal,
    team: &TeamRow,
    integration: &IntegrationRow,
) -> Result<Uuid, AppError> {
    let intent = NewIntent {
        integration_id: integration.id,
        operation: RemoteOp::CreateResource,
        resource_id: None,
        account_id: None,
        team_id: Some(team.id),
        target: &team.name,
        actor,
        audit_action: AuditAction::TeamResourceCreate,
        audit_details: json!({"team_id": team.id, "team": team.name, "name": team.name}),
        resolvable_after: RESOLVABLE_AFTER,
    };
    let mut conn = ctx.pool.get().await?;
    intents::open(&mut conn, &intent).await.map_err(|error| {
        let error = AppError::from(error);
        tracing::error!(%error, team_id = %team.id, integration_id = %integration.id, "could not record a team resource intent");
        error
    })
}

/// The remote refused: nothing was made, so there is nothing to audit but the failure.
async fn abandon_intent(ctx: &AppContext, intent: Uuid) {
    let abandoned = match ctx.pool.get().await {
        Ok(mut conn) => intents::abandon(&mut conn, intent)
            .await
            .map_err(AppError::from),
        Err(error) => Err(error.into()),
    };
    if let Err(error) = abandoned {
        // A run resolves it later from its listing, which does not show the resource.
        tracing::warn!(%error, %intent, "could not close a team resource intent");
    }
}

/// Why an integration has no resource for a new team.
#[derive(Clone, Copy)]
enum Missing {
    /// Its type cannot create resources.
    Skipped,
    /// Creating or recording it failed.
    Failed,
}

/// Audits why the integration has no resource for the team and returns the caller's warning.
/// The team is saved already, so an audit failure here is logged rather than failing the call.
async fn report_missing(
    ctx: &AppContext,
    actor: &Principal,
    team: &TeamRow,
    integration: &IntegrationRow,
    missing: Missing,
    reason: &str,
) -> String {
    let (action, outcome) = match missing {
        Missing::Skipped => (AuditAction::TeamResourceSkipped, "skipped"),
        Missing::Failed => {
            tracing::warn!(team_id = %team.id, integration_id = %integration.id, reason, "team resource not created");
            (
                AuditAction::TeamResourceFailed,
                "the team's resource was not created",
            )
        }
    };
    let entry = AuditEntry {
        actor,
        action,
        integration_id: Some(integration.id),
        resource_id: None,
        details: json!({"team_id": team.id, "team": team.name, "reason": reason}),
    };
    let recorded = match ctx.pool.get().await {
        Ok(mut conn) => audit::record(&mut conn, entry)
            .await
            .map_err(AppError::from),
        Err(error) => Err(error.into()),
    };
    if let Err(error) = recorded {
        tracing::error!(error = %error, %action, team_id = %team.id, "could not audit");
    }
    format!(
        "integration {:?} ({}): {outcome}: {reason}",
        integration.name, integration.id
    )
}

/// Connector messages are written for callers: they never hold secrets.
fn connector_reason(error: &ConnectorError) -> String {
    error.to_string()
}

/// An error as a warning's reason: unexpected ones are logged, and named only vaguely.
fn safe_reason(error: &AppError) -> String {
    match error {
        AppError::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "team resource");
            "internal error (details in the service log)".into()
        }
        AppError::Database(cause) => {
            // Its text is the driver's: the status says what it means, the log says the rest.
            tracing::error!(error = %cause, "team resource");
            cause.reply().1.to_owned()
        }
        other => other.to_string(),
    }
}
