//! Pulled access: who is a member of which resource, now and in the past.
//!
//! A `pulled_access` row is one period an account was a member of a resource; the open row is
//! the current state. A period also ends when its resource, account or integration is soft
//! deleted: the sync engine closes those rows itself, but DeleteIntegration only marks the
//! objects deleted, so the deletion times bound open rows here too. Without that, access would
//! stay "current" forever on a deleted integration.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{accounts, integrations, pulled_access, resources};

/// One membership period, with the user its account is linked to.
#[derive(Debug, Clone, Queryable)]
pub struct AccessRow {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub account_id: Uuid,
    /// `None` while the account is not linked to a user yet.
    pub user_id: Option<Uuid>,
    pub added_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// Whose access to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessOf {
    Resource(Uuid),
    /// Through any of the user's accounts.
    User(Uuid),
}

/// One page (in `pulled_access.id` order, after `after`) of the memberships of a resource or a
/// user: current ones, or with `at` the ones that held at that instant.
pub async fn list_page(
    conn: &mut AsyncPgConnection,
    of: AccessOf,
    at: Option<DateTime<Utc>>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<AccessRow>> {
    let mut query = pulled_access::table
        .inner_join(accounts::table)
        .inner_join(resources::table)
        .inner_join(integrations::table)
        .select((
            pulled_access::id,
            pulled_access::resource_id,
            pulled_access::account_id,
            accounts::user_id,
            pulled_access::added_at,
            pulled_access::removed_at,
        ))
        .order(pulled_access::id.asc())
        .limit(limit)
        .into_boxed();
    query = match of {
        AccessOf::Resource(id) => query.filter(pulled_access::resource_id.eq(id)),
        AccessOf::User(id) => query.filter(accounts::user_id.eq(id)),
    };
    if let Some(after) = after {
        query = query.filter(pulled_access::id.gt(after));
    }
    query = match at {
        None => query
            .filter(pulled_access::removed_at.is_null())
            .filter(resources::deleted_at.is_null())
            .filter(accounts::deleted_at.is_null())
            .filter(integrations::deleted_at.is_null()),
        Some(at) => query
            .filter(pulled_access::added_at.le(at))
            .filter(
                pulled_access::removed_at
                    .is_null()
                    .or(pulled_access::removed_at.gt(at)),
            )
            .filter(
                resources::deleted_at
                    .is_null()
                    .or(resources::deleted_at.gt(at)),
            )
            .filter(
                accounts::deleted_at
                    .is_null()
                    .or(accounts::deleted_at.gt(at)),
            )
            .filter(
                integrations::deleted_at
                    .is_null()
                    .or(integrations::deleted_at.gt(at)),
            ),
    };
    query.load(conn).await
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
