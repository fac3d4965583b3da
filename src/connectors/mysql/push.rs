//! What a sync pushes: roles granted and revoked, and new roles. Each operation opens its own
//! connection. Idempotent as the `Connector` contract says: a failed GRANT or REVOKE is success
//! when the account's grants are already what was asked (MariaDB refuses to revoke a role an
//! account does not hold; MySQL and MariaDB differ in what they say), so the outcome is read
//! back from the catalog rather than guessed from error codes.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Error, Params, Value};

use super::catalog::{holds_role, new_role_host};
use super::connect::{answer, connect, disconnect};
use super::errors::{code, is_missing_privilege, map_error};
use super::flavour::Flavour;
use super::names::{AccountName, quote_identifier};
use super::settings::MysqlSettings;
use crate::connectors::{ConnectorError, RemoteResource};
use crate::model::ResourceType;

/// The longest role name MariaDB keeps (MySQL's limit, 32, is its own to report).
const MAX_ROLE_NAME_CHARS: usize = 128;

/// `GRANT role TO account`; success when the account already holds the role.
pub(super) async fn add_member(
    settings: &MysqlSettings,
    resource_id: &str,
    account_id: &str,
) -> Result<(), ConnectorError> {
    change(settings, resource_id, account_id, true).await
}

/// `REVOKE role FROM account`; success when the account does not hold the role.
pub(super) async fn remove_member(
    settings: &MysqlSettings,
    resource_id: &str,
    account_id: &str,
) -> Result<(), ConnectorError> {
    change(settings, resource_id, account_id, false).await
}

async fn change(
    settings: &MysqlSettings,
    resource_id: &str,
    account_id: &str,
    grant: bool,
) -> Result<(), ConnectorError> {
    let role = parse(resource_id, "role")?;
    let account = parse(account_id, "account")?;
    let sql = if grant {
        format!("GRANT {} TO {}", role.role_sql(), account.grantee_sql())
    } else {
        format!("REVOKE {} FROM {}", role.role_sql(), account.grantee_sql())
    };
    let mut conn = connect(settings).await?;
    let outcome = match answer(settings, conn.query_drop(sql)).await? {
        Ok(()) => Ok(()),
        Err(error) => settle(&mut conn, settings, &role, &account, grant, error).await,
    };
    disconnect(conn).await;
    outcome
}

/// A refused GRANT / REVOKE: success if the account's grants are what was asked anyway,
/// otherwise the refusal, said in terms of what to fix.
async fn settle(
    conn: &mut Conn,
    settings: &MysqlSettings,
    role: &AccountName,
    account: &AccountName,
    grant: bool,
    error: Error,
) -> Result<(), ConnectorError> {
    let flavour = Flavour::detect(conn, settings).await?;
    if holds(conn, settings, flavour, role, account).await? == grant {
        return Ok(());
    }
    let (role_id, account_id) = (role.external_id(), account.external_id());
    Err(match &error {
        Error::Server(server)
            if matches!(server.code, code::INVALID_ROLE | code::UNKNOWN_AUTHID) =>
        {
            ConnectorError::Remote(format!(
                "cannot grant role {role_id}: it or account {account_id} no longer exists"
            ))
        }
        Error::Server(server) if server.code == code::NO_SUCH_USER => {
            ConnectorError::Remote(format!("account {account_id} no longer exists"))
        }
        Error::Server(server) if is_missing_privilege(server) => ConnectorError::Remote(format!(
            "cannot change who holds role {role_id}: {}; the connecting user {:?} needs the \
             role WITH ADMIN OPTION (a role it created has it)",
            server.message, settings.username
        )),
        other => map_error(other, settings),
    })
}

/// Whether `account` holds `role`, read from the grant tables.
async fn holds(
    conn: &mut Conn,
    settings: &MysqlSettings,
    flavour: Flavour,
    role: &AccountName,
    account: &AccountName,
) -> Result<bool, ConnectorError> {
    let params: Vec<Value> = [&role.user, &role.host, &account.user, &account.host]
        .into_iter()
        .map(|part| Value::from(part.as_str()))
        .collect();
    let query = conn.exec_first::<i64, _, _>(holds_role(flavour), Params::Positional(params));
    let count = answer(settings, query)
        .await?
        .map_err(|error| map_error(&error, settings))?;
    Ok(count.unwrap_or(0) > 0)
}

/// `CREATE ROLE name`. A name already taken is an error: adopting a role someone else made would
/// hand its holders to Oblique.
pub(super) async fn create_resource(
    settings: &MysqlSettings,
    name: &str,
) -> Result<RemoteResource, ConnectorError> {
    // MySQL keeps names in CHAR columns, which drop trailing spaces: the role made would not be
    // the one asked for.
    let valid = !name.is_empty()
        && !name.contains('\0')
        && !name.ends_with(' ')
        && name.chars().count() <= MAX_ROLE_NAME_CHARS;
    if !valid {
        let message = format!(
            "{name:?} is not a valid role name: 1 to {MAX_ROLE_NAME_CHARS} characters, no NUL, \
             no trailing space"
        );
        return Err(ConnectorError::Remote(message));
    }
    let mut conn = connect(settings).await?;
    let flavour = Flavour::detect(&mut conn, settings).await?;
    let sql = format!("CREATE ROLE {}", quote_identifier(name));
    let created = answer(settings, conn.query_drop(sql)).await?;
    disconnect(conn).await;
    match created {
        Ok(()) => Ok(RemoteResource {
            member_names: Vec::new(),
            external_id: AccountName::new(name, new_role_host(flavour)).external_id(),
            resource_type: ResourceType::Role,
            name: name.to_string(),
            description: String::new(),
        }),
        Err(Error::Server(server)) if server.code == code::CANNOT_USER => Err(
            ConnectorError::Remote(format!("a role or user named {name:?} already exists")),
        ),
        Err(Error::Server(server)) if is_missing_privilege(&server) => {
            Err(ConnectorError::Remote(format!(
                "cannot create role {name:?}: {}; the connecting user {:?} needs CREATE USER \
                 (or, on MySQL, CREATE ROLE)",
                server.message, settings.username
            )))
        }
        Err(error) => Err(map_error(&error, settings)),
    }
}

/// An external id this connector made.
fn parse(external_id: &str, what: &str) -> Result<AccountName, ConnectorError> {
    AccountName::parse(external_id).ok_or_else(|| {
        ConnectorError::Remote(format!(
            "{external_id:?} is not a MySQL {what} id ('name'@'host')"
        ))
    })
}
