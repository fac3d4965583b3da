//! Queries on `accounts` and their attributes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{AccountAttributeRow, AccountRow};
use super::schema::{account_attributes, accounts};

/// An account with its attributes, ordered by name.
#[derive(Debug, Clone)]
pub struct AccountWithAttributes {
    pub account: AccountRow,
    pub attributes: Vec<AccountAttributeRow>,
}

/// One page of an integration's accounts in creation order, with their attributes (two queries).
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
    include_deleted: bool,
) -> QueryResult<Vec<AccountWithAttributes>> {
    let mut query = accounts::table
        .filter(accounts::integration_id.eq(integration_id))
        .select(AccountRow::as_select())
        .order(accounts::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(accounts::id.gt(after));
    }
    if !include_deleted {
        query = query.filter(accounts::deleted_at.is_null());
    }
    let rows = query.load(conn).await?;
    with_attributes(conn, rows).await
}

pub async fn with_attributes(
    conn: &mut AsyncPgConnection,
    rows: Vec<AccountRow>,
) -> QueryResult<Vec<AccountWithAttributes>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut attributes: HashMap<Uuid, Vec<AccountAttributeRow>> = HashMap::new();
    for attribute in account_attributes::table
        .filter(account_attributes::account_id.eq_any(&ids))
        .order((account_attributes::account_id, account_attributes::name))
        .select(AccountAttributeRow::as_select())
        .load(conn)
        .await?
    {
        attributes
            .entry(attribute.account_id)
            .or_default()
            .push(attribute);
    }
    Ok(rows
        .into_iter()
        .map(|account| AccountWithAttributes {
            attributes: attributes.remove(&account.id).unwrap_or_default(),
            account,
        })
        .collect())
}

/// Soft deletes every live account of the integration; returns how many.
pub async fn soft_delete_for_integration(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        accounts::table
            .filter(accounts::integration_id.eq(integration_id))
            .filter(accounts::deleted_at.is_null()),
    )
    .set((accounts::deleted_at.eq(at), accounts::updated_at.eq(at)))
    .execute(conn)
    .await
}

/// Whether the user has a live account in the integration: a member the remote system can be
/// told to add.
pub async fn user_has_account(
    conn: &mut AsyncPgConnection,
    integration_id: Uuid,
    user_id: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        accounts::table
            .filter(accounts::integration_id.eq(integration_id))
            .filter(accounts::user_id.eq(user_id))
            .filter(accounts::deleted_at.is_null()),
    ))
    .get_result(conn)
    .await
}
