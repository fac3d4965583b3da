//! What a sync pushes: memberships granted and revoked, and new NOLOGIN roles. Each operation
//! opens its own connection and is idempotent where the `Connector` contract says so. Roles are
//! named by oid (their external id) and looked up by name only at the moment of the change, so
//! a rename between pull and push does not misdirect it.

use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;
use tokio_postgres::{Client, Row};

use super::connect::{answer, connect};
use super::errors::map_error;
use super::settings::PostgresSettings;
use crate::connectors::{ConnectorError, RemoteResource};

/// Quotes a role name for SQL: inside double quotes every character stands for itself except
/// `"`, which is doubled. Role names cannot be bound as parameters in GRANT / CREATE ROLE.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Column `index` of a row the remote sent. The remote decides the types it answers with (a
/// server that is not quite PostgreSQL, a catalog view replaced by its superuser, an operator
/// shadowed through the search path): another type is an error, never a panic.
fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize, what: &str) -> Result<T, ConnectorError> {
    row.try_get(index).map_err(|error| {
        ConnectorError::Remote(format!(
            "PostgreSQL answered an unexpected value for {what}: {error}"
        ))
    })
}

/// A role as it is named right now.
struct Role {
    oid: u32,
    name: String,
}

/// `GRANT resource TO account`; success when the account already is a member.
pub(super) async fn add_member(
    settings: &PostgresSettings,
    resource_id: &str,
    account_id: &str,
) -> Result<(), ConnectorError> {
    let client = connect(settings).await?;
    let resource = role(&client, settings, resource_id).await?;
    let account = role(&client, settings, account_id).await?;
    if !grantors(&client, settings, &resource, &account)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let sql = format!(
        "GRANT {} TO {}",
        quote_ident(&resource.name),
        quote_ident(&account.name)
    );
    // A concurrent grant in between only makes PostgreSQL answer with a NOTICE.
    execute(&client, settings, &sql, &resource).await
}

/// `REVOKE resource FROM account`; success when the account is not a member.
pub(super) async fn remove_member(
    settings: &PostgresSettings,
    resource_id: &str,
    account_id: &str,
) -> Result<(), ConnectorError> {
    let client = connect(settings).await?;
    let resource = role(&client, settings, resource_id).await?;
    let account = role(&client, settings, account_id).await?;
    if grantors(&client, settings, &resource, &account)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let (resource_sql, account_sql) = (quote_ident(&resource.name), quote_ident(&account.name));
    let sql = format!("REVOKE {resource_sql} FROM {account_sql}");
    execute(&client, settings, &sql, &resource).await?;
    // Since PostgreSQL 16 a membership has one grant per grantor and a plain REVOKE removes
    // only the one made by the current role (with a WARNING, not an error): revoke the others
    // by name. Up to 15 the plain REVOKE has removed the membership and this finds none.
    let remaining = grantors(&client, settings, &resource, &account).await?;
    for grantor in &remaining {
        let sql = format!(
            "REVOKE {resource_sql} FROM {account_sql} GRANTED BY {}",
            quote_ident(grantor)
        );
        execute(&client, settings, &sql, &resource).await?;
    }
    if remaining.is_empty()
        || grantors(&client, settings, &resource, &account)
            .await?
            .is_empty()
    {
        return Ok(());
    }
    Err(ConnectorError::Remote(format!(
        "role {:?} is still a member of role {:?}: granted by {}, whose grants the connecting \
         role cannot revoke",
        account.name,
        resource.name,
        remaining.join(", ")
    )))
}

/// `CREATE ROLE name NOLOGIN`. A name already taken is an error: adopting a role someone else
/// made would hand its memberships to Oblique.
pub(super) async fn create_resource(
    settings: &PostgresSettings,
    name: &str,
) -> Result<RemoteResource, ConnectorError> {
    if name.is_empty() || name.contains('\0') {
        let message = format!("{name:?} is not a valid role name");
        return Err(ConnectorError::Remote(message));
    }
    let mut client = connect(settings).await?;
    // PostgreSQL silently truncates long names (63 bytes by default): the role created would
    // not be the one asked for. A role the pattern hides would never be listed, so a later
    // sync would take it for deleted.
    let check =
        "SELECT $1::text::name::text = $1::text, $2::text IS NULL OR $1::text LIKE $2::text";
    let pattern = settings.role_pattern.as_deref();
    let row = answer(settings, client.query_one(check, &[&name, &pattern]))
        .await?
        .map_err(|error| map_error(&error, settings))?;
    if !column::<bool>(&row, 0, "the role name's length check")? {
        let message = format!("role name {name:?} is longer than PostgreSQL allows");
        return Err(ConnectorError::Remote(message));
    }
    if !column::<bool>(&row, 1, "the role pattern check")? {
        let message = format!("role name {name:?} does not match config.role_pattern");
        return Err(ConnectorError::Remote(message));
    }

    let transaction = answer(settings, client.transaction())
        .await?
        .map_err(|error| map_error(&error, settings))?;
    let create = format!("CREATE ROLE {} NOLOGIN", quote_ident(name));
    match answer(settings, transaction.batch_execute(&create)).await? {
        Ok(()) => {}
        Err(error) if error.code() == Some(&SqlState::DUPLICATE_OBJECT) => {
            let message = format!("a role named {name:?} already exists");
            return Err(ConnectorError::Remote(message));
        }
        Err(error) => {
            return Err(push_error(
                &error,
                settings,
                &format!("create role {name:?}"),
            ));
        }
    }
    // In the same transaction, so that the oid is the one of the role just made.
    let lookup = "SELECT oid FROM pg_catalog.pg_roles WHERE rolname::text = $1::text";
    let row = answer(settings, transaction.query_one(lookup, &[&name]))
        .await?
        .map_err(|error| map_error(&error, settings))?;
    let oid: u32 = column(&row, 0, "the new role's oid")?;
    answer(settings, transaction.commit())
        .await?
        .map_err(|error| map_error(&error, settings))?;
    Ok(RemoteResource {
        member_names: Vec::new(),
        external_id: oid.to_string(),
        resource_type: crate::model::ResourceType::Role,
        name: name.to_string(),
        description: String::new(),
    })
}

/// The role whose oid is `external_id`, with its current name.
async fn role(
    client: &Client,
    settings: &PostgresSettings,
    external_id: &str,
) -> Result<Role, ConnectorError> {
    let Ok(oid) = external_id.parse::<u32>() else {
        let message = format!("{external_id:?} is not a PostgreSQL role id (an oid)");
        return Err(ConnectorError::Remote(message));
    };
    let sql = "SELECT rolname FROM pg_catalog.pg_roles WHERE oid = $1::oid";
    let row = answer(settings, client.query_opt(sql, &[&oid]))
        .await?
        .map_err(|error| map_error(&error, settings))?;
    match row {
        Some(row) => Ok(Role {
            oid,
            name: column(&row, 0, "a role's name")?,
        }),
        None => Err(ConnectorError::Remote(format!(
            "role {oid} no longer exists"
        ))),
    }
}

/// Who granted `account` its membership of `resource`: empty when it is not a member.
async fn grantors(
    client: &Client,
    settings: &PostgresSettings,
    resource: &Role,
    account: &Role,
) -> Result<Vec<String>, ConnectorError> {
    // LEFT JOIN: a grantor role may have been dropped since (PostgreSQL ≤ 15 allows it).
    let sql = "SELECT coalesce(g.rolname::text, m.grantor::text)
               FROM pg_catalog.pg_auth_members m
               LEFT JOIN pg_catalog.pg_roles g ON g.oid = m.grantor
               WHERE m.roleid = $1::oid AND m.member = $2::oid
               ORDER BY m.grantor";
    let rows = answer(settings, client.query(sql, &[&resource.oid, &account.oid]))
        .await?
        .map_err(|error| map_error(&error, settings))?;
    rows.iter()
        .map(|row| column(row, 0, "a membership's grantor"))
        .collect()
}

/// Runs one GRANT / REVOKE concerning `resource`.
async fn execute(
    client: &Client,
    settings: &PostgresSettings,
    sql: &str,
    resource: &Role,
) -> Result<(), ConnectorError> {
    let action = format!("change the members of role {:?}", resource.name);
    answer(settings, client.batch_execute(sql))
        .await?
        .map_err(|error| push_error(&error, settings, &action))
}

/// A missing privilege is the usual reason a push fails: say which one is needed.
fn push_error(
    error: &tokio_postgres::Error,
    settings: &PostgresSettings,
    action: &str,
) -> ConnectorError {
    match error.as_db_error() {
        Some(db) if db.code() == &SqlState::INSUFFICIENT_PRIVILEGE => {
            ConnectorError::Remote(format!(
                "cannot {action}: {}; the connecting role {:?} needs CREATEROLE (or ADMIN OPTION \
                 on the role)",
                db.message(),
                settings.username
            ))
        }
        _ => map_error(error, settings),
    }
}

#[cfg(test)]
mod tests;
