//! Queries on `users`, and the accounts linked to them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::accounts::{self, AccountWithAttributes};
use super::models::AccountRow;
use super::schema::{accounts as accounts_table, integrations, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    /// Lower-cased (the sync engine links accounts by it).
    pub email: Option<String>,
    pub username: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user's account with its attributes and its integration's last successful pull.
#[derive(Debug, Clone)]
pub struct LinkedAccount {
    pub account: AccountWithAttributes,
    pub last_pulled_at: Option<DateTime<Utc>>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// One page of users in creation order. A non-empty `prefix` keeps the users whose email or
/// username starts with it, ignoring case.
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    prefix: &str,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table
        .select(UserRow::as_select())
        .order(users::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    if !prefix.is_empty() {
        let pattern = format!("{}%", escape_like(prefix));
        // Emails are stored lower-cased, so a plain LIKE on the lower-cased pattern is
        // case-insensitive and can use `users_email_prefix`; usernames keep their case.
        query = query.filter(
            users::email
                .like(pattern.to_lowercase())
                .or(users::username.ilike(pattern).nullable()),
        );
    }
    query.load(conn).await
}

/// Every account linked to the user, soft-deleted ones too, in creation order, with their
/// attributes and their integrations' `last_pulled_at` (three queries).
pub async fn linked_accounts(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<LinkedAccount>> {
    let rows: Vec<AccountRow> = accounts_table::table
        .filter(accounts_table::user_id.eq(user_id))
        .select(AccountRow::as_select())
        .order(accounts_table::id.asc())
        .load(conn)
        .await?;
    let mut integration_ids: Vec<Uuid> = rows.iter().map(|row| row.integration_id).collect();
    integration_ids.sort_unstable();
    integration_ids.dedup();
    let last_pulled: HashMap<Uuid, Option<DateTime<Utc>>> = integrations::table
        .filter(integrations::id.eq_any(&integration_ids))
        .select((integrations::id, integrations::last_pulled_at))
        .load::<(Uuid, Option<DateTime<Utc>>)>(conn)
        .await?
        .into_iter()
        .collect();
    Ok(accounts::with_attributes(conn, rows)
        .await?
        .into_iter()
        .map(|account| LinkedAccount {
            last_pulled_at: last_pulled
                .get(&account.account.integration_id)
                .copied()
                .flatten(),
            account,
        })
        .collect())
}

/// `text` as a LIKE pattern matching itself literally (backslash is PostgreSQL's default escape).
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"a_b%c\d"), r"a\_b\%c\\d");
        assert_eq!(escape_like("plain"), "plain");
    }
}
