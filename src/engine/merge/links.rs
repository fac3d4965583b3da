//! Identity links: which Oblique user each account of the integration belongs to, decided by the
//! integration's `link_users_by` and re-checked on every sync.
//!
//! An account is linked by a key: `email:<lower-cased email>` or `username:<username>`, stored
//! as `accounts.link_key` once the link is made. The remote system controls these values, so a
//! link is only made or kept while nothing contradicts it. Otherwise the account's link is held
//! (`accounts.link_conflict`), and push planning gives it nothing:
//! - **shared**: two accounts of this integration say the same key (two people, one email);
//! - **taken**: an unlinked account says the key another account of this integration was linked
//!   by (an email that changed owner, e.g. handed to a new hire);
//! - **ambiguous**: a username that several Oblique users have;
//! - **changed**: a linked account now says a key that is not its user's (its email changed
//!   owner).
//!
//! A held link is released as soon as a sync finds the contradiction gone. Links from before
//! these checks (`link_key` NULL) are adopted when they still match their user.

use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::model::LinkUsersBy;

/// The key of the account row `alias` under `policy`, as SQL.
pub(super) fn key_sql(policy: LinkUsersBy, alias: &str) -> String {
    match policy {
        LinkUsersBy::Email => format!(
            "(CASE WHEN {alias}.email IS NOT NULL THEN 'email:' || lower({alias}.email) \
             ELSE 'username:' || {alias}.username END)"
        ),
        LinkUsersBy::Username => format!("('username:' || {alias}.username)"),
        LinkUsersBy::None => "NULL::text".into(),
    }
}

/// The one user the account row `alias` matches by its key, as a scalar SQL expression: NULL
/// when none does, or when a username is shared by several users.
pub(super) fn matching_user_sql(policy: LinkUsersBy, alias: &str) -> String {
    let by_username = format!(
        "(SELECT CASE WHEN count(*) = 1 THEN (array_agg(u.id))[1] END \
          FROM users u WHERE u.username = {alias}.username)"
    );
    match policy {
        LinkUsersBy::Email => format!(
            "(CASE WHEN {alias}.email IS NOT NULL \
                   THEN (SELECT u.id FROM users u WHERE u.email = lower({alias}.email)) \
                   ELSE {by_username} END)"
        ),
        LinkUsersBy::Username => by_username,
        LinkUsersBy::None => "NULL::uuid".into(),
    }
}

/// SQL true when the staged row `alias` may be linked now: its key is said by no other account
/// of this listing and was never another account's link (see [`holders`]).
pub(super) fn linkable_sql(policy: LinkUsersBy, alias: &str) -> String {
    let key = key_sql(policy, alias);
    format!(
        "(NOT EXISTS (SELECT 1 FROM link_shared d WHERE d.key = {key}) \
          AND NOT EXISTS (SELECT 1 FROM link_holders h \
                          WHERE h.key = {key} \
                            AND NOT (h.first = {alias}.external_id \
                                     AND h.last = {alias}.external_id)))"
    )
}

/// The keys accounts of the integration were linked by, with the first and last external id
/// holding each, as they stand before this merge. A table of its own, indexed and analysed:
/// checked once per new account, a lookup in `accounts` itself would scan the heap the same
/// statement is filling (the planner sees it empty), which goes quadratic on an initial sync.
const CREATE_HOLDERS: &str =
    "CREATE TEMP TABLE link_holders (key text, first text, last text) ON COMMIT DROP";

/// Only the keys [`linkable_sql`] will ask about: those of staged accounts that are new,
/// changed or unlinked. A staged account that is unchanged (the accounts' upsert leaves it out,
/// see `accounts::UNCHANGED`) and already linked (user creation leaves it out, see
/// [`unlinked_staged`]) is never checked, so a sync that finds no change fills nothing: filling
/// and indexing every key of a 100,000-account integration was a sixth of its merge.
fn fill_holders(policy: LinkUsersBy) -> String {
    let key = key_sql(policy, "s");
    format!(
        "INSERT INTO link_holders
         SELECT link_key, min(external_id), max(external_id)
         FROM accounts
         WHERE integration_id = $1 AND link_key IS NOT NULL
           AND link_key IN (
               SELECT {key} FROM stage_accounts s
               WHERE NOT EXISTS (
                   SELECT 1 FROM accounts a
                   WHERE a.integration_id = $1 AND a.external_id = s.external_id
                     AND a.user_id IS NOT NULL
                     AND (a.username, a.email, a.display_name)
                         IS NOT DISTINCT FROM (s.username, s.email, s.display_name)))
         GROUP BY link_key"
    )
}

const INDEX_HOLDERS: &str = "CREATE INDEX ON link_holders (key); ANALYZE link_holders";

/// Keys said by more than one account of this listing. Dropped with the transaction.
fn shared_keys(policy: LinkUsersBy) -> String {
    let key = key_sql(policy, "s");
    format!(
        "CREATE TEMP TABLE link_shared ON COMMIT DROP AS
         SELECT {key} AS key FROM stage_accounts s
         GROUP BY 1 HAVING {key} IS NOT NULL AND min(s.external_id) <> max(s.external_id)"
    )
}

/// Staged accounts that are new or unlinked and may be linked, but whose key no user has yet.
/// `AND true` marks where the caller's restriction goes.
fn unlinked_staged(policy: LinkUsersBy) -> String {
    let linkable = linkable_sql(policy, "s");
    format!(
        "FROM stage_accounts s
         WHERE NOT EXISTS (SELECT 1 FROM accounts a
                           WHERE a.integration_id = $1 AND a.external_id = s.external_id
                             AND a.user_id IS NOT NULL)
           AND {linkable}"
    )
}

/// A user for each email (lower-cased) no user has yet.
fn create_users_by_email(policy: LinkUsersBy) -> String {
    format!(
        "INSERT INTO users (id, email, username, display_name)
         SELECT DISTINCT ON (lower(s.email)) s.user_id, lower(s.email), s.username, s.display_name
         {} AND s.email IS NOT NULL
         ORDER BY lower(s.email), s.external_id
         ON CONFLICT (email) DO NOTHING",
        unlinked_staged(policy)
    )
}

/// A user for each username (of an account linked by it) no user has yet. Such users get no
/// email: a value this integration is not trusted for must not link other integrations' accounts.
fn create_users_by_username(policy: LinkUsersBy) -> String {
    let by_username = match policy {
        LinkUsersBy::Email => "AND s.email IS NULL",
        _ => "",
    };
    format!(
        "INSERT INTO users (id, username, display_name)
         SELECT DISTINCT ON (s.username) s.user_id, s.username, s.display_name
         {} {by_username}
           AND NOT EXISTS (SELECT 1 FROM users u WHERE u.username = s.username)
         ORDER BY s.username, s.external_id",
        unlinked_staged(policy)
    )
}

/// Serialises user creation across runs, so that two integrations syncing the same new person
/// at once make one user.
const LOCK_USERS: &str = "SELECT pg_advisory_xact_lock(7286517001)";

/// Before the accounts are upserted: finds the keys this listing shares and makes the users new
/// accounts will be linked to, so that each new account row is written once, already linked.
pub(super) async fn prepare(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    policy: LinkUsersBy,
) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute(&shared_keys(policy)).await?;
    tx.batch_execute(CREATE_HOLDERS).await?;
    tx.execute(&fill_holders(policy), &[&integration_id])
        .await?;
    tx.batch_execute(INDEX_HOLDERS).await?;
    if policy == LinkUsersBy::None {
        return Ok(());
    }
    tx.execute(LOCK_USERS, &[]).await?;
    if policy == LinkUsersBy::Email {
        tx.execute(&create_users_by_email(policy), &[&integration_id])
            .await?;
    }
    tx.execute(&create_users_by_username(policy), &[&integration_id])
        .await?;
    Ok(())
}

/// Under `none`: no account of the integration is linked to a user.
const UNLINK_ALL: &str = "
    UPDATE accounts SET user_id = NULL, link_key = NULL, link_conflict = NULL, updated_at = now()
    WHERE integration_id = $1 AND deleted_at IS NULL
      AND (user_id IS NOT NULL OR link_key IS NOT NULL OR link_conflict IS NOT NULL)";

/// Re-decides the link of every live account whose key is not the one it was linked by, whose
/// key is shared, or whose link is held; writes only the rows whose link changes.
fn recheck(policy: LinkUsersBy) -> String {
    let key = key_sql(policy, "a");
    let matching = matching_user_sql(policy, "a");
    let by_username = match policy {
        LinkUsersBy::Email => "AND a.email IS NULL",
        _ => "",
    };
    format!(
        "WITH candidates AS (
             SELECT a.id, a.user_id, a.link_key, {key} AS key, {matching} AS matched,
                    (SELECT count(*) FROM users u
                     WHERE u.username = a.username {by_username}) AS username_users
             FROM accounts a
             WHERE a.integration_id = $1 AND a.deleted_at IS NULL
               AND (a.link_key IS DISTINCT FROM {key} OR a.link_conflict IS NOT NULL
                    OR EXISTS (SELECT 1 FROM link_shared d WHERE d.key = {key}))
         ), decided AS (
             SELECT c.*,
                    EXISTS (SELECT 1 FROM link_shared d WHERE d.key = c.key) AS shared,
                    (SELECT h.username FROM accounts h
                     WHERE h.integration_id = $1 AND h.link_key = c.key AND h.id <> c.id
                     ORDER BY h.id LIMIT 1) AS taken_from
             FROM candidates c
         ), judged AS (
             SELECT d.id, d.user_id, d.link_key, d.key, d.matched,
                    CASE
                      WHEN d.shared THEN format(
                          'more than one account of this integration says %s', d.key)
                      WHEN d.user_id IS NULL AND d.taken_from IS NOT NULL THEN format(
                          '%s is what account %s of this integration was linked by',
                          d.key, d.taken_from)
                      WHEN d.matched IS NULL AND d.username_users > 1 THEN format(
                          '%s matches %s Oblique users', d.key, d.username_users)
                      WHEN d.user_id IS NOT NULL AND d.matched IS DISTINCT FROM d.user_id
                      THEN format('now says %s, but was linked to its user by %s', d.key,
                                  coalesce(d.link_key, 'a value from before link checks'))
                    END AS conflict
             FROM decided d
         ), outcome AS (
             SELECT j.id, j.conflict,
                    CASE WHEN j.conflict IS NULL THEN coalesce(j.user_id, j.matched)
                         ELSE j.user_id END AS user_id,
                    CASE WHEN j.conflict IS NULL AND coalesce(j.user_id, j.matched) IS NOT NULL
                         THEN j.key ELSE j.link_key END AS link_key
             FROM judged j
         )
         UPDATE accounts a
         SET link_conflict = o.conflict, user_id = o.user_id, link_key = o.link_key,
             updated_at = now()
         FROM outcome o
         WHERE a.id = o.id
           AND (a.link_conflict, a.user_id, a.link_key)
               IS DISTINCT FROM (o.conflict, o.user_id, o.link_key)"
    )
}

/// The held links after the recheck: how many, and the first five (for the run's warning; the
/// rest are counted) as "external id: reason".
const HELD: &str = "
    SELECT count(*),
           (array_agg(external_id || ': ' || link_conflict ORDER BY external_id))[1:5]
    FROM accounts
    WHERE integration_id = $1 AND deleted_at IS NULL AND link_conflict IS NOT NULL";

/// What the recheck did, for the run's warning and audit.
#[derive(Debug, Clone, Default)]
pub struct LinkReport {
    /// Accounts whose link (user, key or conflict) the recheck changed.
    pub changed: i64,
    /// Accounts whose link to a user is held.
    pub held: i64,
    /// The first few, as "external id: reason".
    pub named: Vec<String>,
}

/// After the accounts are merged: re-decides the links that need it and reports the held ones.
pub(super) async fn recheck_all(
    tx: &Transaction<'_>,
    integration_id: Uuid,
    policy: LinkUsersBy,
) -> Result<LinkReport, tokio_postgres::Error> {
    if policy == LinkUsersBy::None {
        let changed = tx.execute(UNLINK_ALL, &[&integration_id]).await? as i64;
        return Ok(LinkReport {
            changed,
            ..LinkReport::default()
        });
    }
    let changed = tx.execute(&recheck(policy), &[&integration_id]).await? as i64;
    let held = tx.query_one(HELD, &[&integration_id]).await?;
    Ok(LinkReport {
        changed,
        held: held.get(0),
        named: held.get::<_, Option<Vec<String>>>(1).unwrap_or_default(),
    })
}
