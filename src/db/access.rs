//! Effective access: who is a member of which resource, now and in the past.
//!
//! A pull-mode resource's members are what the remote system says (`pulled_access`: one row per
//! period an account was a member; the open row is the current state). A push-mode resource's
//! members are what Oblique decided (the `desired_access` view: active grants and the members of
//! the team the resource was made for), each with the state of pushing it, plus the remote
//! members nobody decided on, which the next push removes.
//!
//! A period also ends when its resource, account or integration is soft deleted: the sync
//! engine closes those rows itself, but DeleteIntegration only marks the objects deleted, so the
//! deletion times bound open rows here too. Without that, access would stay "current" forever
//! on a deleted integration.
//!
//! The three sources are one UNION; pages are keyset over a text key (resource, user, source,
//! account, row id) compared byte-wise (`COLLATE "C"`), so each page is one bounded query.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::pulled_access;
use crate::model::{AccessSource, PropagationStatus};

/// One member of a resource, and why.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AccessRow {
    /// The page key.
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = SqlUuid)]
    pub resource_id: Uuid,
    /// `None` for a remote member whose account is not linked to a user yet.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub user_id: Option<Uuid>,
    /// The member account; for a decision, the user's account in the resource's integration
    /// (`None` when it has none).
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub account_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub source: AccessSource,
    /// `None` for past decisions (their pushing is not kept).
    #[diesel(sql_type = Nullable<Text>)]
    pub status: Option<PropagationStatus>,
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub grant_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub since: DateTime<Utc>,
    /// Who the ids are, so a listing reads without further look-ups.
    #[diesel(sql_type = Nullable<Text>)]
    pub username: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_display_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub account_username: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub account_display_name: Option<String>,
}

/// A page query's rows with the names of their user and account, looked up for that page only.
fn with_names(page: &str) -> String {
    format!(
        "SELECT page.*, u.username, u.display_name AS user_display_name,
                acc.username AS account_username, acc.display_name AS account_display_name
         FROM ({page}) page
         LEFT JOIN users u ON u.id = page.user_id
         LEFT JOIN accounts acc ON acc.id = page.account_id
         ORDER BY page.key COLLATE \"C\""
    )
}

/// Whose access to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessOf {
    Resource(Uuid),
    /// Through any of the user's accounts.
    User(Uuid),
}

impl AccessOf {
    /// The predicate selecting the subject in each branch: (pulled, desired, grant, team).
    /// Fixed SQL, never input; the subject's id is `$1`.
    fn predicates(self) -> [&'static str; 4] {
        match self {
            AccessOf::Resource(_) => [
                "p.resource_id = $1",
                "d.resource_id = $1",
                "g.resource_id = $1",
                "r.id = $1",
            ],
            AccessOf::User(_) => [
                "a.user_id = $1",
                "d.user_id = $1",
                "g.user_id = $1",
                "tm.user_id = $1",
            ],
        }
    }

    fn id(self) -> Uuid {
        match self {
            AccessOf::Resource(id) | AccessOf::User(id) => id,
        }
    }
}

/// The key a row pages by: unique per row (its last part is the row's own id), so its byte order
/// is a total order that keyset pages can follow.
const KEY: &str = "concat_ws('/', {resource}, coalesce({user}::text, ''), {source}, \
                   coalesce({account}::text, ''), {row})";

fn key(resource: &str, user: &str, source: &str, account: &str, row: &str) -> String {
    KEY.replace("{resource}", resource)
        .replace("{user}", user)
        .replace("{source}", source)
        .replace("{account}", account)
        .replace("{row}", row)
}

/// The source of a pulled row: inherited when the member holds it through a member group only.
const PULLED_SOURCE: &str = "CASE WHEN p.inherited THEN 'remote_inherited' ELSE 'remote' END";

/// One page (in key order, after `after`) of the current members of a resource, or of the
/// resources a user is a member of.
pub async fn list_current_page(
    conn: &mut AsyncPgConnection,
    of: AccessOf,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AccessRow>> {
    let [pulled, desired, _, _] = of.predicates();
    let sql = format!(
        "SELECT * FROM (
             -- Pull mode: what the remote system says; in sync by definition.
             SELECT {pulled_key} AS key, p.resource_id, a.user_id, p.account_id,
                    {pulled_source} AS source, 'in_sync' AS status, NULL::text AS error,
                    0 AS attempts, NULL::uuid AS grant_id, p.added_at AS since
             FROM pulled_access p
             JOIN accounts a ON a.id = p.account_id
             JOIN resources r ON r.id = p.resource_id
             JOIN integrations i ON i.id = r.integration_id
             WHERE {pulled} AND r.sync_mode = 'pull' AND p.removed_at IS NULL
               AND r.deleted_at IS NULL AND a.deleted_at IS NULL AND i.deleted_at IS NULL
             UNION ALL
             -- Push mode: what Oblique decided, and how pushing it went.
             SELECT {desired_key}, d.resource_id, d.user_id, acct.id, d.source,
                    coalesce(pr.status, 'pending'), pr.error, coalesce(pr.attempts, 0),
                    d.grant_id, d.since
             FROM desired_access d
             JOIN resources r ON r.id = d.resource_id
             JOIN integrations i ON i.id = r.integration_id
             LEFT JOIN propagations pr ON pr.resource_id = d.resource_id AND pr.user_id = d.user_id
             -- The user's account there, a member one first.
             LEFT JOIN LATERAL (
                 SELECT a.id FROM accounts a
                 WHERE a.integration_id = r.integration_id AND a.user_id = d.user_id
                   AND a.deleted_at IS NULL
                 ORDER BY EXISTS (SELECT 1 FROM pulled_access m
                                  WHERE m.account_id = a.id AND m.resource_id = d.resource_id
                                    AND m.removed_at IS NULL) DESC, a.id
                 LIMIT 1) acct ON true
             WHERE {desired} AND r.sync_mode = 'push'
               AND r.deleted_at IS NULL AND i.deleted_at IS NULL
             UNION ALL
             -- Push mode: remote members nobody decided on (drift), until the push removes them;
             -- members through a member group only stay, as the push never touches them.
             SELECT {drift_key}, p.resource_id, a.user_id, p.account_id, {pulled_source},
                    CASE WHEN p.inherited THEN 'in_sync'
                         WHEN pr.status = 'error' THEN 'error' ELSE 'pending' END,
                    CASE WHEN pr.status = 'error' AND NOT p.inherited THEN pr.error END,
                    coalesce(pr.attempts, 0), NULL, p.added_at
             FROM pulled_access p
             JOIN accounts a ON a.id = p.account_id
             JOIN resources r ON r.id = p.resource_id
             JOIN integrations i ON i.id = r.integration_id
             LEFT JOIN propagations pr ON pr.resource_id = p.resource_id AND pr.user_id = a.user_id
             WHERE {pulled} AND r.sync_mode = 'push' AND p.removed_at IS NULL
               AND r.deleted_at IS NULL AND a.deleted_at IS NULL AND i.deleted_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM desired_access d
                               WHERE d.resource_id = p.resource_id AND d.user_id = a.user_id)
         ) e
         WHERE $2::text IS NULL OR e.key COLLATE \"C\" > $2
         ORDER BY e.key COLLATE \"C\"
         LIMIT $3",
        pulled_key = key(
            "p.resource_id",
            "a.user_id",
            "'remote'",
            "p.account_id",
            "p.id"
        ),
        desired_key = key(
            "d.resource_id",
            "d.user_id",
            "d.source",
            "acct.id",
            "coalesce(d.grant_id::text, '')"
        ),
        drift_key = key(
            "p.resource_id",
            "a.user_id",
            "'remote'",
            "p.account_id",
            "p.id"
        ),
        pulled_source = PULLED_SOURCE,
    );
    diesel::sql_query(with_names(&sql))
        .bind::<SqlUuid, _>(of.id())
        .bind::<Nullable<Text>, _>(after)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}

/// One page (in key order, after `after`) of who was a member at `at`, from history: pulled
/// periods for resources then in pull mode; grants and team memberships for resources then in
/// push mode. A resource's mode at `at` comes from its `resource.sync_mode` audit events, so
/// the remote's members before a switch to push still answer. Soft-deleted resources and
/// integrations answer for the time before their removal.
pub async fn list_at_page(
    conn: &mut AsyncPgConnection,
    of: AccessOf,
    at: DateTime<Utc>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AccessRow>> {
    let [pulled, _, grant, team] = of.predicates();
    // A resource's mode at $4: the last switch before it, else the mode before the first switch
    // after it, else its mode now.
    let mode_at = "coalesce(
             (SELECT ae.details->>'to' FROM audit_events ae
              WHERE ae.resource_id = r.id AND ae.action = 'resource.sync_mode' AND ae.at <= $4
              ORDER BY ae.at DESC, ae.id DESC LIMIT 1),
             (SELECT ae.details->>'from' FROM audit_events ae
              WHERE ae.resource_id = r.id AND ae.action = 'resource.sync_mode' AND ae.at > $4
              ORDER BY ae.at, ae.id LIMIT 1),
             r.sync_mode)";
    let live = "(r.deleted_at IS NULL OR r.deleted_at > $4)
               AND (i.deleted_at IS NULL OR i.deleted_at > $4)";
    // The user's account in the resource's integration at $4, if any.
    let account_at = "LEFT JOIN LATERAL (
                 SELECT a.id FROM accounts a
                 WHERE a.integration_id = r.integration_id AND a.user_id = {user}
                   AND a.created_at <= $4 AND (a.deleted_at IS NULL OR a.deleted_at > $4)
                 ORDER BY a.id LIMIT 1) acct ON true";
    let sql = format!(
        "SELECT * FROM (
             SELECT {pulled_key} AS key, p.resource_id, a.user_id, p.account_id,
                    {pulled_source} AS source, 'in_sync' AS status, NULL::text AS error,
                    0 AS attempts, NULL::uuid AS grant_id, p.added_at AS since
             FROM pulled_access p
             JOIN accounts a ON a.id = p.account_id
             JOIN resources r ON r.id = p.resource_id
             JOIN integrations i ON i.id = r.integration_id
             WHERE {pulled} AND p.added_at <= $4 AND (p.removed_at IS NULL OR p.removed_at > $4)
               AND (a.deleted_at IS NULL OR a.deleted_at > $4) AND {live}
               AND {mode_at} = 'pull'
             UNION ALL
             SELECT {grant_key}, g.resource_id, g.user_id, acct.id, g.source,
                    NULL, NULL, 0, g.id, g.granted_at
             FROM grants g
             JOIN resources r ON r.id = g.resource_id
             JOIN integrations i ON i.id = r.integration_id
             {grant_account}
             WHERE {grant} AND g.granted_at <= $4
               AND (least(g.revoked_at, g.deleted_at, g.expires_at) IS NULL
                    OR least(g.revoked_at, g.deleted_at, g.expires_at) > $4)
               AND {live} AND {mode_at} = 'push'
             UNION ALL
             SELECT {team_key}, r.id, tm.user_id, acct.id, 'team',
                    NULL, NULL, 0, NULL, tm.added_at
             FROM team_members tm
             JOIN resources r ON r.team_id = tm.team_id
             JOIN integrations i ON i.id = r.integration_id
             {team_account}
             WHERE {team} AND tm.added_at <= $4 AND (tm.removed_at IS NULL OR tm.removed_at > $4)
               AND r.created_at <= $4 AND {live} AND {mode_at} = 'push'
         ) e
         WHERE $2::text IS NULL OR e.key COLLATE \"C\" > $2
         ORDER BY e.key COLLATE \"C\"
         LIMIT $3",
        pulled_key = key(
            "p.resource_id",
            "a.user_id",
            "'remote'",
            "p.account_id",
            "p.id"
        ),
        grant_key = key("g.resource_id", "g.user_id", "g.source", "acct.id", "g.id"),
        team_key = key("r.id", "tm.user_id", "'team'", "acct.id", "tm.id"),
        grant_account = account_at.replace("{user}", "g.user_id"),
        team_account = account_at.replace("{user}", "tm.user_id"),
        pulled_source = PULLED_SOURCE,
    );
    diesel::sql_query(with_names(&sql))
        .bind::<SqlUuid, _>(of.id())
        .bind::<Nullable<Text>, _>(after)
        .bind::<BigInt, _>(limit)
        .bind::<Timestamptz, _>(at)
        .load(conn)
        .await
}

/// Ends every current membership of the integration's resources, as of `at` (its removal): the
/// closed rows stay as history for questions about the past.
pub async fn close_for_integration(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        pulled_access::table
            .filter(pulled_access::integration_id.eq(integration_id))
            .filter(pulled_access::removed_at.is_null()),
    )
    .set(pulled_access::removed_at.eq(at))
    .execute(conn)
    .await
}
