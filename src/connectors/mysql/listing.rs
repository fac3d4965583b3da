//! What a sync pulls: user accounts with their attributes, roles as resources, and the roles
//! granted to accounts as access. Accounts and roles are known by `'name'@'host'`: MySQL has no
//! id that survives `RENAME USER`, so a renamed account is a new one.

use mysql_async::Row;

use super::catalog::{ACCOUNTS, GRANTS, ROLES};
use super::names::AccountName;
use super::pages::{keyset_pages, number, optional_text, text};
use super::settings::MysqlSettings;
use crate::connectors::{
    Listed, ObjectProblem, PageStream, RemoteAccess, RemoteAccount, RemoteResource,
};
use crate::model::ResourceType;

pub(super) fn accounts(settings: &MysqlSettings) -> PageStream<'static, RemoteAccount> {
    keyset_pages(settings, &ACCOUNTS, read_account)
}

pub(super) fn resources(settings: &MysqlSettings) -> PageStream<'static, RemoteResource> {
    keyset_pages(settings, &ROLES, read_role)
}

pub(super) fn access(settings: &MysqlSettings) -> PageStream<'static, RemoteAccess> {
    keyset_pages(settings, &GRANTS, read_grant)
}

fn read_account(row: &Row) -> Result<Listed<RemoteAccount>, String> {
    let name = AccountName::new(text(row, 0)?, text(row, 1)?);
    let flag = |index| number(row, index).map(|set| (set != 0).to_string());
    let mut attributes = vec![
        ("host".to_string(), vec![name.host.clone()]),
        ("account_locked".to_string(), vec![flag(2)?]),
        ("password_expired".to_string(), vec![flag(3)?]),
        // 0 means unlimited, as in MySQL.
        (
            "max_connections".to_string(),
            vec![number(row, 4)?.to_string()],
        ),
    ];
    if let Some(roles) = optional_text(row, 5)? {
        match serde_json::from_str::<Vec<String>>(&roles) {
            Ok(roles) if roles.is_empty() => {}
            Ok(roles) => attributes.push(("default_role".to_string(), roles)),
            Err(error) => {
                return Ok(Err(ObjectProblem {
                    external_id: Some(name.external_id()),
                    object: format!("account:{}", name.external_id()),
                    message: format!("cannot read its default roles {roles:?}: {error}"),
                }));
            }
        }
    }
    Ok(Ok(RemoteAccount {
        member_names: Vec::new(),
        external_id: name.external_id(),
        display_name: format!("{}@{}", name.user, name.host),
        username: name.user,
        email: None,
        attributes,
    }))
}

fn read_role(row: &Row) -> Result<Listed<RemoteResource>, String> {
    let name = AccountName::new(text(row, 0)?, text(row, 1)?);
    Ok(Ok(RemoteResource {
        member_names: Vec::new(),
        external_id: name.external_id(),
        resource_type: ResourceType::Role,
        name: name.user,
        description: String::new(),
    }))
}

fn read_grant(row: &Row) -> Result<Listed<RemoteAccess>, String> {
    let role = AccountName::new(text(row, 0)?, text(row, 1)?);
    let account = AccountName::new(text(row, 2)?, text(row, 3)?);
    Ok(Ok(RemoteAccess {
        resource_external_id: role.external_id(),
        account_external_id: account.external_id(),
        by_member_name: false,
        inherited: false,
    }))
}
