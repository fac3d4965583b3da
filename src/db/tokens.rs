//! Queries on `api_tokens`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{ApiTokenRow, NewApiToken};
use super::schema::api_tokens::dsl::*;

pub async fn insert(
    conn: &mut AsyncPgConnection,
    token_id: Uuid,
    token_name: &str,
    token_role: &str,
    hash: &[u8],
) -> QueryResult<()> {
    diesel::insert_into(api_tokens)
        .values(NewApiToken {
            id: token_id,
            name: token_name,
            role: token_role,
            secret_hash: hash,
        })
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find_active(
    conn: &mut AsyncPgConnection,
    token_id: Uuid,
) -> QueryResult<Option<ApiTokenRow>> {
    api_tokens
        .filter(id.eq(token_id).and(revoked_at.is_null()))
        .select(ApiTokenRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn touch(
    conn: &mut AsyncPgConnection,
    token_id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(api_tokens.find(token_id))
        .set(last_used_at.eq(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Every token, revoked ones too, oldest first.
pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<ApiTokenRow>> {
    api_tokens
        .order(id.asc())
        .select(ApiTokenRow::as_select())
        .load(conn)
        .await
}

/// Revokes the active token named `token_name`; false when there is none.
pub async fn revoke(conn: &mut AsyncPgConnection, token_name: &str) -> QueryResult<bool> {
    let changed = diesel::update(api_tokens.filter(name.eq(token_name).and(revoked_at.is_null())))
        .set(revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(changed > 0)
}

pub async fn any_exist(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(api_tokens.select(id)))
        .get_result(conn)
        .await
}

/// Tokens of `token_role` that are not revoked.
pub async fn count_active_with_role(
    conn: &mut AsyncPgConnection,
    token_role: &str,
) -> QueryResult<i64> {
    api_tokens
        .filter(role.eq(token_role).and(revoked_at.is_null()))
        .count()
        .get_result(conn)
        .await
}
