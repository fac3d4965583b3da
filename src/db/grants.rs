//! Queries on `grants`: access decisions made in Oblique, each with what pushing it last did.
//!
//! A grant is active while `revoked_at` and `deleted_at` are unset; at most one is active per
//! (resource, user) (the `grants_active` index). Revoked and soft-deleted grants stay as history.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::access::AccessOf;
use super::models::IntegrationRow;
use super::schema::{grants, integrations, resources};
use crate::model::{AccessSource, AuditAction, PropagationStatus};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = grants, check_for_backend(diesel::pg::Pg))]
pub struct GrantRow {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    /// `Grant` or `RemoteAdopted` (the column's CHECK allows only these).
    pub source: AccessSource,
    pub reason: String,
    pub granted_by: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub revoke_reason: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl GrantRow {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none() && self.deleted_at.is_none()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = grants)]
pub struct NewGrant<'a> {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    pub source: AccessSource,
    pub reason: &'a str,
    pub granted_by: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A grant with the state of pushing its (resource, user) membership.
#[derive(Debug, Clone, QueryableByName)]
pub struct GrantView {
    #[diesel(embed)]
    pub grant: GrantRow,
    /// The `propagations` row, attached only to the latest grant of its (resource, user): an
    /// older, superseded decision is not what is being pushed.
    #[diesel(sql_type = Nullable<Text>)]
    pub propagation_status: Option<PropagationStatus>,
    #[diesel(sql_type = Nullable<Text>)]
    pub propagation_error: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub propagation_attempts: Option<i32>,
    /// Whether decisions on the grant's resource are pushed: push mode, resource and integration
    /// live.
    #[diesel(sql_type = Bool)]
    pub pushed: bool,
}

/// Holds the integration against removal (`FOR KEY SHARE`) until the transaction ends. Decisions
/// take it before their resource's row lock, in the order DeleteIntegration locks them (the
/// integration, then its resources), so that the two queue up instead of deadlocking. Updates
/// of the integration's other columns (the engine's `last_pulled_at`) are not blocked.
pub async fn hold_integration(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<IntegrationRow>> {
    integrations::table
        .find(id)
        .for_key_share()
        .select(IntegrationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<GrantRow>> {
    grants::table
        .find(id)
        .select(GrantRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the row until the transaction ends.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<GrantRow>> {
    grants::table
        .find(id)
        .for_update()
        .select(GrantRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The active grant of `user_id` on `resource_id`, if any.
pub async fn find_active(
    conn: &mut AsyncPgConnection,
    resource_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<GrantRow>> {
    grants::table
        .filter(grants::resource_id.eq(resource_id))
        .filter(grants::user_id.eq(user_id))
        .filter(grants::revoked_at.is_null())
        .filter(grants::deleted_at.is_null())
        .select(GrantRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewGrant<'_>) -> QueryResult<GrantRow> {
    diesel::insert_into(grants::table)
        .values(new)
        .returning(GrantRow::as_returning())
        .get_result(conn)
        .await
}

/// Revokes an active grant; `None` when it was no longer active.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    revoked_by: &str,
    reason: &str,
) -> QueryResult<Option<GrantRow>> {
    diesel::update(
        grants::table
            .find(id)
            .filter(grants::revoked_at.is_null())
            .filter(grants::deleted_at.is_null()),
    )
    .set((
        grants::revoked_at.eq(diesel::dsl::now),
        grants::revoked_by.eq(revoked_by),
        grants::revoke_reason.eq(reason),
    ))
    .returning(GrantRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Active grants whose `expires_at` has passed, as (id, resource_id) in resource order (the
/// order their resources are locked in), at most `limit`.
pub async fn due_to_expire(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> QueryResult<Vec<(Uuid, Uuid)>> {
    grants::table
        .filter(grants::revoked_at.is_null())
        .filter(grants::deleted_at.is_null())
        .filter(grants::expires_at.le(diesel::dsl::now))
        .select((grants::id, grants::resource_id))
        .order((grants::resource_id.asc(), grants::id.asc()))
        .limit(limit)
        .load(conn)
        .await
}

/// The active grants on `resource_id` (of `user_id` only, if given) whose `expires_at` has
/// passed.
pub async fn expired_on_resource(
    conn: &mut AsyncPgConnection,
    resource_id: Uuid,
    user_id: Option<Uuid>,
) -> QueryResult<Vec<Uuid>> {
    let mut query = grants::table
        .filter(grants::resource_id.eq(resource_id))
        .filter(grants::revoked_at.is_null())
        .filter(grants::deleted_at.is_null())
        .filter(grants::expires_at.le(diesel::dsl::now))
        .select(grants::id)
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(grants::user_id.eq(user_id));
    }
    query.load(conn).await
}

/// Of the listed `members` (account external ids), those no grant can be made for: no live
/// account of the integration has that id (a sync has not seen it yet), or it is linked to no
/// user. At most `limit`, in order.
pub async fn unadoptable_members(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    members: &[String],
    limit: i64,
) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Member {
        #[diesel(sql_type = Text)]
        external_id: String,
    }
    let found: Vec<Member> = diesel::sql_query(
        "SELECT DISTINCT m.external_id FROM unnest($2::text[]) AS m(external_id)
         WHERE NOT EXISTS (SELECT 1 FROM accounts a
                           WHERE a.integration_id = $1 AND a.external_id = m.external_id
                             AND a.deleted_at IS NULL AND a.user_id IS NOT NULL)
         ORDER BY 1 LIMIT $3",
    )
    .bind::<SqlUuid, _>(integration_id)
    .bind::<Array<Text>, _>(members)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(found.into_iter().map(|m| m.external_id).collect())
}

/// Makes every current remote member of the resource (`members`: the external ids of the
/// accounts a fresh listing found in it, as the last pull may be out of date) whose account is
/// linked to a user a grant of source `remote_adopted`, unless the user already has an active
/// one, and records each member's membership as in sync (it is present remotely). Returns how
/// many grants were made.
pub async fn adopt_remote_members(
    conn: &mut AsyncPgConnection,
    resource_id: Uuid,
    integration_id: Uuid,
    members: &[String],
    reason: &str,
    granted_by: &str,
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Adopted {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let adopted: Adopted = diesel::sql_query(
        "WITH members AS (
             SELECT DISTINCT a.user_id FROM accounts a
             WHERE a.integration_id = $2 AND a.external_id = ANY($5)
               AND a.deleted_at IS NULL AND a.user_id IS NOT NULL
         ), adopted AS (
             INSERT INTO grants (id, resource_id, user_id, source, reason, granted_by)
             SELECT uuid_generate_v7(), $1, m.user_id, 'remote_adopted', $3, $4 FROM members m
             WHERE NOT EXISTS (SELECT 1 FROM grants g
                               WHERE g.resource_id = $1 AND g.user_id = m.user_id
                                 AND g.revoked_at IS NULL AND g.deleted_at IS NULL)
             RETURNING user_id
         ), in_sync AS (
             INSERT INTO propagations (resource_id, user_id, integration_id, status)
             SELECT $1, m.user_id, $2, 'in_sync' FROM members m
             ON CONFLICT (resource_id, user_id) DO UPDATE
                 SET status = 'in_sync', error = NULL, attempts = 0, next_attempt_at = now(),
                     updated_at = now()
         )
         SELECT count(*) AS count FROM adopted",
    )
    .bind::<SqlUuid, _>(resource_id)
    .bind::<SqlUuid, _>(integration_id)
    .bind::<Text, _>(reason)
    .bind::<Text, _>(granted_by)
    .bind::<Array<Text>, _>(members)
    .get_result(conn)
    .await?;
    Ok(adopted.count)
}

/// Soft deletes the active grants on the integration's resources (it is being removed), as of
/// `at`; returns how many.
pub async fn soft_delete_for_integration(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    let of_integration = resources::table
        .filter(resources::integration_id.eq(integration_id))
        .select(resources::id);
    diesel::update(
        grants::table
            .filter(grants::resource_id.eq_any(of_integration))
            .filter(grants::revoked_at.is_null())
            .filter(grants::deleted_at.is_null()),
    )
    .set(grants::deleted_at.eq(at))
    .execute(conn)
    .await
}

/// The grants with these ids, with their propagation, in the order of `ids` (missing ones
/// left out).
pub async fn views(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<GrantView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut views: Vec<GrantView> = diesel::sql_query(
        "SELECT g.*, p.status AS propagation_status, p.error AS propagation_error,
                p.attempts AS propagation_attempts,
                (r.sync_mode = 'push' AND r.deleted_at IS NULL AND i.deleted_at IS NULL) AS pushed
         FROM grants g
         JOIN resources r ON r.id = g.resource_id
         JOIN integrations i ON i.id = r.integration_id
         LEFT JOIN propagations p
             ON p.resource_id = g.resource_id AND p.user_id = g.user_id
            AND NOT EXISTS (SELECT 1 FROM grants newer
                            WHERE newer.resource_id = g.resource_id
                              AND newer.user_id = g.user_id AND newer.id > g.id)
         WHERE g.id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    let position = |id: Uuid| ids.iter().position(|wanted| *wanted == id);
    views.sort_by_cached_key(|view| position(view.grant.id));
    Ok(views)
}

pub async fn view(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<GrantView> {
    views(conn, &[id])
        .await?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}

/// One entry of a history: a grant (`access.grant` at `granted_at`) or its revocation
/// (`access.revoke` at `revoked_at`).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct HistoryRow {
    #[diesel(sql_type = Text)]
    pub action: AuditAction,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    pub grant_id: Uuid,
}

/// Newest first, after (older than) `before`: ordered by (at, grant_id, action), descending.
pub async fn history_page(
    conn: &mut AsyncPgConnection,
    of: AccessOf,
    before: Option<&HistoryRow>,
    limit: i64,
) -> QueryResult<Vec<HistoryRow>> {
    let (column, subject) = match of {
        AccessOf::Resource(id) => ("resource_id", id),
        AccessOf::User(id) => ("user_id", id),
    };
    // `column` is one of two fixed names, never input.
    let sql = format!(
        "SELECT e.action, e.at, e.grant_id FROM (
             SELECT 'access.grant' AS action, g.granted_at AS at, g.id AS grant_id
             FROM grants g WHERE g.{column} = $1
             UNION ALL
             SELECT 'access.revoke', g.revoked_at, g.id
             FROM grants g WHERE g.{column} = $1 AND g.revoked_at IS NOT NULL
         ) e
         WHERE $2::timestamptz IS NULL OR (e.at, e.grant_id, e.action) < ($2, $3, $4)
         ORDER BY e.at DESC, e.grant_id DESC, e.action DESC
         LIMIT $5"
    );
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(subject)
        .bind::<Nullable<Timestamptz>, _>(before.map(|row| row.at))
        .bind::<Nullable<SqlUuid>, _>(before.map(|row| row.grant_id))
        .bind::<Nullable<Text>, _>(before.map(|row| row.action))
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}
