//! The credentials key check (which key seals the credentials, never the key) and the sealed
//! credentials as key rotation reads and rewrites them.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{credentials_key_check, integrations};

/// What the database knows of the key that seals its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = credentials_key_check, check_for_backend(diesel::pg::Pg))]
pub struct KeyCheckRow {
    pub key_id: String,
    pub check_value: Vec<u8>,
}

/// Arbitrary but fixed: start-up checks and rotations change the key check one at a time.
const KEY_CHECK_LOCK: i64 = 0x0b11_0e03;
/// Held for a whole rotation, so that two rotations never interleave.
const ROTATION_LOCK: i64 = 0x0b11_0e04;

/// Serialises changes of the key check until the transaction ends.
pub async fn lock_for_change(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({KEY_CHECK_LOCK})"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the session-wide rotation lock if free; answers whether it was.
pub async fn try_lock_rotation(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }
    let row: Locked = diesel::sql_query(format!(
        "SELECT pg_try_advisory_lock({ROTATION_LOCK}) AS locked"
    ))
    .get_result(conn)
    .await?;
    Ok(row.locked)
}

pub async fn unlock_rotation(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("SELECT pg_advisory_unlock({ROTATION_LOCK})"))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn find(conn: &mut AsyncPgConnection) -> QueryResult<Option<KeyCheckRow>> {
    credentials_key_check::table
        .select(KeyCheckRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Records (or replaces) the key check.
pub async fn record(conn: &mut AsyncPgConnection, check: &KeyCheckRow) -> QueryResult<()> {
    diesel::insert_into(credentials_key_check::table)
        .values((
            credentials_key_check::key_id.eq(&check.key_id),
            credentials_key_check::check_value.eq(&check.check_value),
        ))
        .on_conflict(credentials_key_check::singleton)
        .do_update()
        .set((
            credentials_key_check::key_id.eq(&check.key_id),
            credentials_key_check::check_value.eq(&check.check_value),
            credentials_key_check::recorded_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// One integration's sealed credentials, any: proof of which key sealed what was stored before
/// the database kept a key check.
pub async fn any_sealed(conn: &mut AsyncPgConnection) -> QueryResult<Option<(Uuid, Vec<u8>)>> {
    integrations::table
        .filter(integrations::credentials_ciphertext.is_not_null())
        .select((
            integrations::id,
            integrations::credentials_ciphertext.assume_not_null(),
        ))
        .order(integrations::id.asc())
        .first(conn)
        .await
        .optional()
}

/// Up to `limit` integrations (deleted ones too) whose credentials do not start with `header`,
/// i.e. are not sealed with the key it names.
pub async fn ids_not_sealed_with(
    conn: &mut AsyncPgConnection,
    header: &[u8],
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    integrations::table
        .filter(integrations::credentials_ciphertext.is_not_null())
        .filter(
            sql::<Bool>("substring(credentials_ciphertext from 1 for ")
                .bind::<diesel::sql_types::Integer, _>(header.len() as i32)
                .sql(") <> ")
                .bind::<Bytea, _>(header.to_vec()),
        )
        .select(integrations::id)
        .order(integrations::id.asc())
        .limit(limit)
        .load(conn)
        .await
}

/// The integration's sealed credentials, its row locked until the transaction ends.
pub async fn sealed_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<Vec<u8>>> {
    integrations::table
        .find(id)
        .for_update()
        .select(integrations::credentials_ciphertext)
        .first::<Option<Vec<u8>>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// Replaces the sealed credentials only; not a change of the integration (`updated_at` stays).
pub async fn replace_sealed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    sealed: &[u8],
) -> QueryResult<()> {
    diesel::update(integrations::table.find(id))
        .set(integrations::credentials_ciphertext.eq(sealed))
        .execute(conn)
        .await?;
    Ok(())
}

/// How many integrations (deleted ones too) have sealed credentials.
pub async fn count_sealed(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    integrations::table
        .filter(integrations::credentials_ciphertext.is_not_null())
        .count()
        .get_result(conn)
        .await
}

/// Every integration's sealed credentials, for counting them by key.
pub async fn all_sealed(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Vec<u8>>> {
    integrations::table
        .filter(integrations::credentials_ciphertext.is_not_null())
        .select(integrations::credentials_ciphertext.assume_not_null())
        .load(conn)
        .await
}
