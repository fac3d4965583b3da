//! Two database roles: the owner of Oblique's tables runs the migrations; the runtime role that
//! serves may read and write the tables but only append to the audit log. The owner of a table
//! can always disable its triggers, so the audit log is immutable only if the server is not it.

use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// What the runtime role needs, granted by the owner after every migration run (so that tables
/// added by a migration are covered). Beyond these it relies on PUBLIC's defaults: CONNECT and
/// TEMPORARY on the database (staging tables), EXECUTE on functions; LISTEN/NOTIFY and advisory
/// locks need no privilege.
const RUNTIME_GRANTS: &str = "
    GRANT USAGE ON SCHEMA public TO {role};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role};
    REVOKE ALL ON audit_events FROM {role};
    GRANT SELECT, INSERT ON audit_events TO {role};
    REVOKE ALL ON __diesel_schema_migrations FROM {role};
    GRANT SELECT ON __diesel_schema_migrations TO {role};";

/// Grants the runtime role its privileges, over a connection of the tables' owner.
pub async fn grant_runtime_privileges(
    owner: &mut AsyncPgConnection,
    runtime_role: &str,
) -> diesel::QueryResult<()> {
    let sql = RUNTIME_GRANTS.replace("{role}", &quote_identifier(runtime_role));
    owner.batch_execute(&sql).await
}

/// The role a connection acts as.
pub async fn current_role(conn: &mut AsyncPgConnection) -> diesel::QueryResult<String> {
    #[derive(diesel::QueryableByName)]
    struct Current {
        #[diesel(sql_type = Text)]
        role: String,
    }
    let current: Current = diesel::sql_query("SELECT current_user::text AS role")
        .get_result(conn)
        .await?;
    Ok(current.role)
}

/// Whether this connection's role could change the audit log behind its triggers' back: it is a
/// superuser, or (a member of) the owner of `audit_events`.
pub async fn can_bypass_audit_triggers(conn: &mut AsyncPgConnection) -> diesel::QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        can: bool,
    }
    let found: Found = diesel::sql_query(
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
             OR pg_has_role(current_user, c.relowner, 'USAGE') AS can \
         FROM pg_class c WHERE c.oid = 'audit_events'::regclass",
    )
    .get_result(conn)
    .await?;
    Ok(found.can)
}

/// Creates `role` as a login role with `password`, or resets the password of an existing one
/// (its file may have been replaced). Needs CREATEROLE. The password must be plain alphanumerics:
/// it is written into the statement, which is never logged.
pub async fn ensure_login_role(
    admin: &mut AsyncPgConnection,
    role: &str,
    password: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        password.chars().all(|c| c.is_ascii_alphanumeric()),
        "role passwords are generated alphanumerics"
    );
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = Bool)]
        exists: bool,
    }
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists")
            .bind::<Text, _>(role)
            .get_result(admin)
            .await?;
    let verb = if found.exists { "ALTER" } else { "CREATE" };
    admin
        .batch_execute(&format!(
            "SET password_encryption = 'scram-sha-256'; \
             {verb} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'",
            quote_identifier(role)
        ))
        .await?;
    Ok(())
}

/// Gives `owner` everything in the public schema that `from` owns: tables, sequences, views,
/// functions and types. Upgrades a database that older versions migrated as the superuser.
pub async fn transfer_ownership(
    admin: &mut AsyncPgConnection,
    from: &str,
    owner: &str,
) -> diesel::QueryResult<()> {
    let (from, owner) = (quote_literal(from), quote_identifier(owner));
    // Tables first: a sequence owned by a column follows its table and cannot be moved alone.
    admin
        .batch_execute(&format!(
            "DO $$ DECLARE r record; BEGIN
               FOR r IN SELECT c.oid::regclass AS name,
                      CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                     ELSE 'TABLE' END AS kind
                 FROM pg_class c
                 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
                   AND pg_get_userbyid(c.relowner) = {from} LOOP
                 EXECUTE format('ALTER %s %s OWNER TO %s', r.kind, r.name, {owner_literal});
               END LOOP;
             END $$;
             DO $$ DECLARE r record; BEGIN
               FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
                 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'
                   AND pg_get_userbyid(c.relowner) = {from} LOOP
                 EXECUTE format('ALTER SEQUENCE %s OWNER TO %s', r.name, {owner_literal});
               END LOOP;
               FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p
                 WHERE p.pronamespace = 'public'::regnamespace
                   AND pg_get_userbyid(p.proowner) = {from} LOOP
                 EXECUTE format('ALTER ROUTINE %s OWNER TO %s', r.name, {owner_literal});
               END LOOP;
               FOR r IN SELECT t.oid::regtype AS name FROM pg_type t
                 WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')
                   AND pg_get_userbyid(t.typowner) = {from} LOOP
                 EXECUTE format('ALTER TYPE %s OWNER TO %s', r.name, {owner_literal});
               END LOOP;
             END $$;",
            owner_literal = quote_literal(&owner),
        ))
        .await
}

/// "name", with embedded quotes doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// 'text', with embedded quotes doubled.
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
