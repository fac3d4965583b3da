//! Queries on `remote_intents`: a change Oblique is about to make on a remote system, written
//! before the remote is called, closed (with its audit event) after it. See migration 000015.

use std::time::Duration;

use diesel::sql_types::{BigInt, Interval, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::model::{AuditAction, Principal, RemoteOp};

/// An intent as it is opened: the change, and the audit event it is recorded with once made.
pub struct NewIntent<'a> {
    pub integration_id: Uuid,
    pub operation: RemoteOp,
    /// Add and remove: the member's resource and account.
    pub resource_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    /// Create: the team the resource is for.
    pub team_id: Option<Uuid>,
    /// The resource's external id (add, remove) or the name asked for (create).
    pub target: &'a str,
    pub actor: &'a Principal,
    pub audit_action: AuditAction,
    pub audit_details: Value,
    /// How long the writer may still be waiting for the remote: no run resolves it before.
    pub resolvable_after: Duration,
}

/// Writes the intent (in its own statement: it must be durable before the remote is called).
pub async fn open(conn: &mut AsyncPgConnection, intent: &NewIntent<'_>) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO remote_intents (id, integration_id, operation, resource_id, account_id,
                                     team_id, target, actor_name, actor_role, audit_action,
                                     audit_details, resolvable_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + $12)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(intent.integration_id)
    .bind::<Text, _>(intent.operation)
    .bind::<Nullable<SqlUuid>, _>(intent.resource_id)
    .bind::<Nullable<SqlUuid>, _>(intent.account_id)
    .bind::<Nullable<SqlUuid>, _>(intent.team_id)
    .bind::<Text, _>(intent.target)
    .bind::<Text, _>(&intent.actor.name)
    .bind::<Text, _>(intent.actor.role)
    .bind::<Text, _>(intent.audit_action)
    .bind::<Jsonb, _>(&intent.audit_details)
    .bind::<Interval, _>(interval(intent.resolvable_after))
    .execute(conn)
    .await?;
    Ok(id)
}

fn interval(duration: Duration) -> diesel::pg::data_types::PgInterval {
    let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
    diesel::pg::data_types::PgInterval::from_microseconds(micros)
}

/// How a change that was made is audited, beyond what its intent drafted.
#[derive(Default)]
pub struct Completion {
    /// In place of the drafted action (a team's resource that was never made, say).
    pub action: Option<AuditAction>,
    /// The resource the change made, when the intent could not name it.
    pub resource_id: Option<Uuid>,
    /// Merged into the drafted details.
    pub details: Value,
}

/// Closes the intent and writes its audit event, in one statement (so, in the caller's
/// transaction, with what records the change). `false`: it was closed already (a run resolved
/// it once its writer was given up), and nothing is written.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    completion: Completion,
) -> QueryResult<bool> {
    let details = match completion.details {
        Value::Null => Value::Object(Default::default()),
        details => details,
    };
    let written = diesel::sql_query(
        "WITH closed AS (DELETE FROM remote_intents WHERE id = $1 RETURNING *)
         INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id,
                                   resource_id, details)
         SELECT uuid_generate_v7(), actor_name, actor_role, coalesce($2, audit_action),
                integration_id, coalesce($3, resource_id), audit_details || $4
         FROM closed",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Text>, _>(completion.action)
    .bind::<Nullable<SqlUuid>, _>(completion.resource_id)
    .bind::<Jsonb, _>(details)
    .execute(conn)
    .await?;
    Ok(written == 1)
}

/// Closes the intent of a change that was not made: there is nothing to audit. `false`: it
/// was closed already.
pub async fn abandon(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let deleted = diesel::sql_query("DELETE FROM remote_intents WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
    Ok(deleted == 1)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Whether the integration has intents a run should resolve now.
pub async fn any_resolvable(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
) -> QueryResult<bool> {
    let found: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM remote_intents
         WHERE integration_id = $1 AND resolvable_after <= now()",
    )
    .bind::<SqlUuid, _>(integration_id)
    .get_result(conn)
    .await?;
    Ok(found.count > 0)
}

/// What resolving the open member changes came to.
#[derive(Debug, Default, QueryableByName)]
pub struct Resolved {
    /// Intents closed.
    #[diesel(sql_type = BigInt)]
    pub resolved: i64,
    /// Of those, the changes the remote shows were made: audited now.
    #[diesel(sql_type = BigInt)]
    pub made: i64,
}

/// Resolves the integration's open adds and removes against its pulled access, which a listing
/// has just brought up to date: an add was made when the member is listed, a remove when it is
/// not. Made changes are audited (marked `recovered`); the others were never made, and their
/// decisions are still pending, so the push that follows carries them out.
pub async fn resolve_member_changes(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
) -> QueryResult<Resolved> {
    diesel::sql_query(
        "WITH closed AS (
             DELETE FROM remote_intents i
             WHERE i.integration_id = $1 AND i.operation IN ('add_member', 'remove_member')
               AND i.resolvable_after <= now()
             RETURNING i.*,
                 EXISTS (SELECT 1 FROM pulled_access p
                         WHERE p.resource_id = i.resource_id AND p.account_id = i.account_id
                           AND p.removed_at IS NULL AND NOT p.inherited)
                     = (i.operation = 'add_member') AS made
         ), audited AS (
             INSERT INTO audit_events (id, actor_name, actor_role, action, integration_id,
                                       resource_id, details)
             SELECT uuid_generate_v7(), actor_name, actor_role, audit_action, integration_id,
                    resource_id, audit_details || '{\"recovered\": true}'
             FROM closed WHERE made
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM closed) AS resolved,
                (SELECT count(*) FROM audited) AS made",
    )
    .bind::<SqlUuid, _>(integration_id)
    .get_result(conn)
    .await
}

/// An open creation of a team's resource.
#[derive(Debug, QueryableByName)]
pub struct OpenCreation {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub team_id: Uuid,
    /// The name the resource was asked for with.
    #[diesel(sql_type = Text)]
    pub target: String,
}

/// The integration's creations a run should resolve now, oldest first.
pub async fn resolvable_creations(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
) -> QueryResult<Vec<OpenCreation>> {
    diesel::sql_query(
        "SELECT id, team_id, target FROM remote_intents
         WHERE integration_id = $1 AND operation = 'create_resource'
           AND resolvable_after <= now()
         ORDER BY id",
    )
    .bind::<SqlUuid, _>(integration_id)
    .load(conn)
    .await
}
