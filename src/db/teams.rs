//! Queries on `teams` and `team_members`, and on the resources made for teams.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{IntegrationRow, ResourceRow};
use super::schema::{integrations, resources, team_members, teams, users};
use crate::model::{PropagationStatus, ResourceType, SyncMode};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams, check_for_backend(diesel::pg::Pg))]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A team with its current members and its live resources, each in the order they were added.
#[derive(Debug, Clone)]
pub struct TeamDetails {
    pub row: TeamRow,
    pub member_user_ids: Vec<Uuid>,
    pub resource_ids: Vec<Uuid>,
}

/// A resource just created remotely for a team, to be recorded in push mode.
#[derive(Debug)]
pub struct NewTeamResource<'a> {
    pub integration_id: Uuid,
    pub team_id: Uuid,
    pub external_id: &'a str,
    pub resource_type: ResourceType,
    pub name: &'a str,
    pub description: &'a str,
}

/// Fails with a unique violation on `teams_name` when the name is taken, ignoring case.
pub async fn insert(conn: &mut AsyncPgConnection, id: Uuid, name: &str) -> QueryResult<TeamRow> {
    diesel::insert_into(teams::table)
        .values((teams::id.eq(id), teams::name.eq(name)))
        .returning(TeamRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<TeamRow>> {
    teams::table
        .find(id)
        .select(TeamRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the team until the transaction ends: membership changes and the recording of a new
/// team resource take this lock, so each sees the other's result.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<TeamRow>> {
    teams::table
        .find(id)
        .for_update()
        .select(TeamRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// One page of teams in creation order, starting after `after`.
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<TeamRow>> {
    let mut query = teams::table
        .select(TeamRow::as_select())
        .order(teams::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(teams::id.gt(after));
    }
    query.load(conn).await
}

pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(teams::table.find(id))
        .set(teams::updated_at.eq(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Which of `ids` are users.
pub async fn existing_users(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(users::id)
        .load(conn)
        .await
}

/// Makes the user a current member; false when it already was one.
pub async fn add_member(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    user_id: Uuid,
) -> QueryResult<bool> {
    let inserted = diesel::sql_query(
        "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)
         ON CONFLICT (team_id, user_id) WHERE removed_at IS NULL DO NOTHING",
    )
    .bind::<SqlUuid, _>(team_id)
    .bind::<SqlUuid, _>(user_id)
    .execute(conn)
    .await?;
    Ok(inserted == 1)
}

/// Ends the user's current membership; false when it was not a member.
pub async fn remove_member(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    user_id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let closed = diesel::update(
        team_members::table
            .filter(team_members::team_id.eq(team_id))
            .filter(team_members::user_id.eq(user_id))
            .filter(team_members::removed_at.is_null()),
    )
    .set(team_members::removed_at.eq(at))
    .execute(conn)
    .await?;
    Ok(closed > 0)
}

/// The team's current members, in the order they joined.
pub async fn current_members(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    team_members::table
        .filter(team_members::team_id.eq(team_id))
        .filter(team_members::removed_at.is_null())
        .order((team_members::added_at.asc(), team_members::id.asc()))
        .select(team_members::user_id)
        .load(conn)
        .await
}

/// The team's live push-mode resources in live integrations: where its membership is pushed.
pub async fn pushed_resources(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
) -> QueryResult<Vec<ResourceRow>> {
    resources::table
        .inner_join(integrations::table.on(integrations::id.eq(resources::integration_id)))
        .filter(resources::team_id.eq(team_id))
        .filter(resources::deleted_at.is_null())
        .filter(resources::sync_mode.eq(SyncMode::Push))
        .filter(integrations::deleted_at.is_null())
        .order(resources::id.asc())
        .select(ResourceRow::as_select())
        .load(conn)
        .await
}

/// Live integrations that create a resource for every new team.
pub async fn integrations_for_new_teams(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<IntegrationRow>> {
    integrations::table
        .filter(integrations::deleted_at.is_null())
        .filter(integrations::create_resources_for_new_teams.eq(true))
        .order(integrations::id.asc())
        .select(IntegrationRow::as_select())
        .load(conn)
        .await
}

/// Records a resource the connector has just created, in push mode with its membership pending.
///
/// The connector refuses names already taken remotely, so a row with the same external id can
/// only describe this very object: one a pull running concurrently has just listed, or an older
/// object whose id the remote reused. That row is taken over, unless it belongs to another
/// team (`None` then).
pub async fn insert_team_resource(
    conn: &mut AsyncPgConnection,
    new: &NewTeamResource<'_>,
) -> QueryResult<Option<ResourceRow>> {
    let recorded = diesel::sql_query(
        "INSERT INTO resources (id, integration_id, external_id, resource_type, name, description,
                                sync_mode, propagation_status, team_id)
         VALUES ($1, $2, $3, $4, $5, $6, $8, $9, $7)
         ON CONFLICT (integration_id, external_id) DO UPDATE
             SET resource_type = excluded.resource_type, name = excluded.name,
                 description = excluded.description, sync_mode = excluded.sync_mode,
                 propagation_status = excluded.propagation_status, propagation_error = NULL,
                 team_id = excluded.team_id, deleted_at = NULL, updated_at = now()
             WHERE resources.team_id IS NULL OR resources.team_id = excluded.team_id
         RETURNING resources.id",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(new.integration_id)
    .bind::<Text, _>(new.external_id)
    .bind::<Text, _>(new.resource_type)
    .bind::<Text, _>(new.name)
    .bind::<Text, _>(new.description)
    .bind::<SqlUuid, _>(new.team_id)
    .bind::<Text, _>(SyncMode::Push)
    .bind::<Text, _>(PropagationStatus::Pending)
    .get_result::<RecordedId>(conn)
    .await
    .optional()?;
    match recorded {
        Some(recorded) => super::resources::find(conn, recorded.id).await,
        None => Ok(None),
    }
}

#[derive(QueryableByName)]
struct RecordedId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Each team with its current members and live resources (three queries in all).
pub async fn with_details(
    conn: &mut AsyncPgConnection,
    rows: Vec<TeamRow>,
) -> QueryResult<Vec<TeamDetails>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let members: Vec<(Uuid, Uuid)> = team_members::table
        .filter(team_members::team_id.eq_any(&ids))
        .filter(team_members::removed_at.is_null())
        .order((team_members::added_at.asc(), team_members::id.asc()))
        .select((team_members::team_id, team_members::user_id))
        .load(conn)
        .await?;
    let team_resources: Vec<(Option<Uuid>, Uuid)> = resources::table
        .filter(resources::team_id.eq_any(&ids))
        .filter(resources::deleted_at.is_null())
        .order(resources::id.asc())
        .select((resources::team_id, resources::id))
        .load(conn)
        .await?;
    let mut members_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (team_id, user_id) in members {
        members_of.entry(team_id).or_default().push(user_id);
    }
    let mut resources_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (team_id, resource_id) in team_resources {
        if let Some(team_id) = team_id {
            resources_of.entry(team_id).or_default().push(resource_id);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| TeamDetails {
            member_user_ids: members_of.remove(&row.id).unwrap_or_default(),
            resource_ids: resources_of.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}
