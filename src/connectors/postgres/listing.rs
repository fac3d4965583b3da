//! What a sync pulls: LOGIN roles as accounts, NOLOGIN roles as resources, and the memberships
//! of LOGIN roles in NOLOGIN roles as access. Roles are identified by oid, which survives
//! `ALTER ROLE … RENAME`.

use chrono::{DateTime, SecondsFormat};
use tokio_postgres::Row;

use super::paged_query::paged_query;
use super::settings::PostgresSettings;
use crate::connectors::{PageStream, RemoteAccess, RemoteAccount, RemoteResource};

/// Prefixes a query with `listed`: the roles a sync sees. Left out are the predefined `pg_*`
/// roles (PostgreSQL's own, not the organisation's), the role Oblique connects as (revoking
/// its own memberships would lock Oblique out) and, when the setup has a role pattern (bound
/// as `$1`, never spliced into the SQL), every role whose name does not match it.
macro_rules! with_listed_roles {
    ($query:literal) => {
        concat!(
            "WITH listed AS (
                SELECT oid, rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole,
                       rolbypassrls, rolconnlimit, rolvaliduntil
                FROM pg_catalog.pg_roles
                -- starts_with and not LIKE 'pg\\_%': the meaning of a backslash in a literal
                -- depends on standard_conforming_strings.
                WHERE NOT starts_with(rolname::text, 'pg_')
                  AND rolname <> current_user
                  AND ($1::text IS NULL OR rolname::text LIKE $1::text)
            ) ",
            $query
        )
    };
}

const ACCOUNTS: &str = with_listed_roles!(
    "SELECT oid, rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolconnlimit,
            CASE WHEN isfinite(rolvaliduntil)
                 THEN (extract(epoch FROM rolvaliduntil) * 1000000)::int8
            END AS valid_until_micros,
            pg_catalog.shobj_description(oid, 'pg_authid') AS comment
     FROM listed WHERE rolcanlogin ORDER BY oid"
);

const RESOURCES: &str = with_listed_roles!(
    "SELECT oid, rolname, pg_catalog.shobj_description(oid, 'pg_authid') AS comment
     FROM listed WHERE NOT rolcanlogin ORDER BY oid"
);

// DISTINCT: since PostgreSQL 16 a membership has one row per grantor.
const ACCESS: &str = with_listed_roles!(
    "SELECT DISTINCT m.roleid, m.member
     FROM pg_catalog.pg_auth_members m
     JOIN listed resource ON resource.oid = m.roleid AND NOT resource.rolcanlogin
     JOIN listed account ON account.oid = m.member AND account.rolcanlogin
     ORDER BY m.roleid, m.member"
);

pub(super) fn accounts(settings: &PostgresSettings) -> PageStream<'static, RemoteAccount> {
    paged_query(settings, ACCOUNTS, read_account)
}

pub(super) fn resources(settings: &PostgresSettings) -> PageStream<'static, RemoteResource> {
    paged_query(settings, RESOURCES, read_resource)
}

pub(super) fn access(settings: &PostgresSettings) -> PageStream<'static, RemoteAccess> {
    paged_query(settings, ACCESS, read_access)
}

fn read_account(row: &Row) -> Result<RemoteAccount, tokio_postgres::Error> {
    let oid: u32 = row.try_get("oid")?;
    let name: String = row.try_get("rolname")?;
    let flag = |column: &str| row.try_get::<_, bool>(column).map(|set| set.to_string());
    let mut attributes = vec![
        ("superuser", flag("rolsuper")?),
        ("createdb", flag("rolcreatedb")?),
        ("createrole", flag("rolcreaterole")?),
        ("bypassrls", flag("rolbypassrls")?),
        // -1 means unlimited, as in PostgreSQL.
        (
            "connection_limit",
            row.try_get::<_, i32>("rolconnlimit")?.to_string(),
        ),
    ];
    // NULL and infinity both mean the password never expires: the attribute is left out. So
    // are instants past chrono's range (year 262143), which amount to the same.
    let valid_until = row.try_get::<_, Option<i64>>("valid_until_micros")?;
    if let Some(instant) = valid_until.and_then(DateTime::from_timestamp_micros) {
        let text = instant.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        attributes.push(("valid_until", text));
    }
    if let Some(comment) = row.try_get::<_, Option<String>>("comment")? {
        attributes.push(("comment", comment));
    }
    Ok(RemoteAccount {
        member_names: Vec::new(),
        external_id: oid.to_string(),
        username: name.clone(),
        email: None,
        display_name: name,
        attributes: attributes
            .into_iter()
            .map(|(key, value)| (key.to_string(), vec![value]))
            .collect(),
    })
}

fn read_resource(row: &Row) -> Result<RemoteResource, tokio_postgres::Error> {
    Ok(RemoteResource {
        member_names: Vec::new(),
        external_id: row.try_get::<_, u32>("oid")?.to_string(),
        resource_type: crate::model::ResourceType::Role,
        name: row.try_get("rolname")?,
        description: row
            .try_get::<_, Option<String>>("comment")?
            .unwrap_or_default(),
    })
}

fn read_access(row: &Row) -> Result<RemoteAccess, tokio_postgres::Error> {
    Ok(RemoteAccess {
        resource_external_id: row.try_get::<_, u32>("roleid")?.to_string(),
        account_external_id: row.try_get::<_, u32>("member")?.to_string(),
        by_member_name: false,
        inherited: false,
    })
}

#[cfg(test)]
mod tests;
