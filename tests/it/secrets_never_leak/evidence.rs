//! What the leak test reads back: the remote's state, and every column of Oblique's database.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::harness::remote::RemoteRoles;

/// Remote members of the fixture's role `group`.
pub(super) async fn remote_members(roles: &RemoteRoles, group: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Member {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = roles.connect_admin().await;
    diesel::sql_query(
        "SELECT m.rolname::text AS name FROM pg_auth_members am
         JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
         WHERE g.rolname = $1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Text, _>(roles.name(group))
    .load::<Member>(&mut conn)
    .await
    .expect("remote members")
    .into_iter()
    .map(|m| m.name)
    .collect()
}

/// Push attempts that failed and recorded why.
pub(super) async fn failed_pushes(url: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    diesel::sql_query("SELECT count(*) AS count FROM propagations WHERE error IS NOT NULL")
        .get_result::<Count>(&mut conn)
        .await
        .expect("propagations")
        .count
}

/// `schema.table.column` of every column, of every table of the database, that holds `needle`:
/// as text (any type cast to text: text, json, arrays…) or, for bytea, as raw bytes.
pub(super) async fn columns_containing(url: &str, needle: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        schema: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        table: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        data_type: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT c.table_schema::text AS schema, c.table_name::text AS table,
                c.column_name::text AS column, c.data_type::text AS data_type
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE t.table_type = 'BASE TABLE'
           AND c.table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .load(&mut conn)
    .await
    .expect("listing columns");
    assert!(
        columns.len() > 20,
        "too few columns to scan: {}",
        columns.len()
    );
    let mut holding = Vec::new();
    for c in columns {
        let column = format!("\"{}\".\"{}\".\"{}\"", c.schema, c.table, c.column);
        let test = match c.data_type.as_str() {
            "bytea" => format!("position(convert_to($1, 'UTF8') in {column}) > 0"),
            _ => format!("strpos({column}::text, $1) > 0"),
        };
        let found: Found = diesel::sql_query(format!(
            "SELECT EXISTS (SELECT 1 FROM \"{}\".\"{}\" WHERE {test}) AS found",
            c.schema, c.table
        ))
        .bind::<diesel::sql_types::Text, _>(needle)
        .get_result(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("scanning {column}: {error}"));
        if found.found {
            holding.push(column);
        }
    }
    holding
}
