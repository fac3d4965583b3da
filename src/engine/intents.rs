//! Recovery of remote changes whose writer died between calling the remote and recording what
//! the call did (see `db::intents`). A run resolves its integration's open intents after its
//! merge, from the listing it has just applied: a change the remote shows was made, and is
//! audited now, once; one it does not show was never made (its decision is still pending, so
//! the push carries it out).

use diesel_async::AsyncConnection;
use serde_json::json;

use crate::db::Pool;
use crate::db::intents::{self, Completion, OpenCreation};
use crate::db::models::IntegrationRow;
use crate::db::teams::{self, NewTeamResource};
use crate::db::{AsyncPgConnection, propagations, resources};
use crate::model::AuditAction;

pub(super) async fn resolve(pool: &Pool, integration: &IntegrationRow) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    let members = intents::resolve_member_changes(&mut conn, integration.id).await?;
    if members.resolved > 0 {
        tracing::warn!(
            resolved = members.resolved,
            made = members.made,
            "pushes interrupted by an earlier run's end, resolved from this run's listing"
        );
    }
    for creation in intents::resolvable_creations(&mut conn, integration.id).await? {
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
            resolve_creation(conn, integration, &creation).await
        })
        .await?;
    }
    Ok(())
}

/// A team's resource whose creation was interrupted: adopted when the remote lists it under the
/// name it was asked for (Oblique made it: its intent says so), else audited as not made.
async fn resolve_creation(
    conn: &mut AsyncPgConnection,
    integration: &IntegrationRow,
    creation: &OpenCreation,
) -> anyhow::Result<()> {
    // Under the team's lock, as membership changes take it (see domain::teams::create).
    teams::find_for_update(conn, creation.team_id).await?;
    let listed =
        resources::find_listed_for_team(conn, integration.id, &creation.target, creation.team_id)
            .await?;
    let recorded = match listed {
        Some(listed) => {
            let new = NewTeamResource {
                integration_id: integration.id,
                team_id: creation.team_id,
                external_id: &listed.external_id,
                resource_type: listed.resource_type,
                name: &listed.name,
                description: &listed.description,
            };
            teams::insert_team_resource(conn, &new).await?
        }
        None => None,
    };
    let completion = match recorded {
        Some(resource) => {
            let members = teams::current_members(conn, creation.team_id).await?;
            for user_id in &members {
                propagations::mark_pending(conn, resource.id, *user_id).await?;
            }
            tracing::warn!(resource_id = %resource.id, team_id = %creation.team_id,
                           "a team resource whose creation was interrupted is listed: recorded");
            Completion {
                action: None,
                resource_id: Some(resource.id),
                details: json!({
                    "external_id": resource.external_id,
                    "resource_type": resource.resource_type,
                    "member_user_ids": members,
                    "recovered": true,
                }),
            }
        }
        None => Completion {
            action: Some(AuditAction::TeamResourceFailed),
            resource_id: None,
            details: json!({
                "reason": "interrupted before the remote answered, and the remote does not list it",
                "recovered": true,
            }),
        },
    };
    intents::complete(conn, creation.id, completion).await?;
    Ok(())
}
