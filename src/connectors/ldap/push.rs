//! What a sync pushes: members added to and removed from groups, and new groups. Each operation
//! opens its own connection. Groups and users are named by id (entryUUID, objectGUID …) and
//! looked up at the moment of the change, so a rename or move between pull and push does not
//! misdirect it.
//!
//! A group's membership attribute follows its object class: `member` (user DNs) for
//! groupOfNames, `uniqueMember` (user DNs) for groupOfUniqueNames, `memberUid` (usernames) for
//! posixGroup.
//!
//! groupOfNames and groupOfUniqueNames must have at least one member, so Oblique keeps the bind
//! DN in a group that would otherwise be empty: a group it creates starts with the bind DN as
//! its only member, the bind DN goes when the first real member is added, and comes back when
//! the last one is removed. Listings never report the bind DN as a member. Active Directory's
//! `group` may be empty: there no placeholder is ever written.
//!
//! Active Directory answers an add of a present member with entryAlreadyExists (68) and the
//! removal of an absent one with unwillingToPerform (53, WERROR 0x561 ERROR_MEMBER_NOT_IN_GROUP;
//! Samba says "Attribute member doesn't exist"). 68 on an add reads as success; 53 on a removal
//! is success only once a compare shows the member is indeed absent, since 53 also means other
//! refusals.

use std::collections::HashSet;

use ldap3::{Ldap, Mod, Scope, dn_escape, ldap_escape};

use super::connect::{answer, connect};
use super::dn;
use super::errors::{operation_error, rc, result_error};
use super::listing::MEMBER;
use super::push_targets::{Group, find_group, find_user};
use super::search::Search;
use super::settings::{Base, LdapSettings};
use crate::connectors::{ConnectorError, RemoteResource};

/// Adds `account` to `resource`; success when it already is a member.
pub(super) async fn add_member(
    settings: &LdapSettings,
    resource_id: &str,
    account_id: &str,
) -> Result<(), ConnectorError> {
    let mut ldap = connect(settings).await?;
    let group = find_group(&mut ldap, settings, resource_id).await?;
    let user = find_user(&mut ldap, settings, account_id).await?;
    let value = group.value_for(&user);
    let placeholder = &settings.bind_dn;
    let mut changes = vec![Mod::Add(group.attribute, HashSet::from([value.as_str()]))];
    let drop_placeholder = group.needs_a_member()
        && dn::normalize(&value) != dn::normalize(placeholder)
        && has_value(&mut ldap, settings, &group, placeholder).await?;
    if drop_placeholder {
        changes.push(Mod::Delete(
            group.attribute,
            HashSet::from([placeholder.as_str()]),
        ));
    }
    let result = modify(&mut ldap, settings, &group, changes).await?;
    match result.rc {
        rc::SUCCESS => Ok(()),
        // Already a member, or the placeholder already gone: someone changed the group since
        // we looked. Each change on its own then, each idempotent.
        rc::ATTRIBUTE_OR_VALUE_EXISTS | rc::NO_SUCH_ATTRIBUTE if drop_placeholder => {
            let add = Mod::Add(group.attribute, HashSet::from([value.as_str()]));
            let result = modify(&mut ldap, settings, &group, vec![add]).await?;
            if !matches!(result.rc, rc::SUCCESS | rc::ATTRIBUTE_OR_VALUE_EXISTS) {
                return Err(change_error(&group, &result));
            }
            let remove = Mod::Delete(group.attribute, HashSet::from([placeholder.as_str()]));
            let result = modify(&mut ldap, settings, &group, vec![remove]).await?;
            match result.rc {
                // 65: the placeholder is the only member left after all; it stays.
                rc::SUCCESS | rc::NO_SUCH_ATTRIBUTE | rc::OBJECT_CLASS_VIOLATION => Ok(()),
                _ => Err(change_error(&group, &result)),
            }
        }
        rc::ATTRIBUTE_OR_VALUE_EXISTS | rc::ENTRY_ALREADY_EXISTS => Ok(()),
        _ => Err(change_error(&group, &result)),
    }
}

/// Removes `account` from `resource`; success when it is not a member.
pub(super) async fn remove_member(
    settings: &LdapSettings,
    resource_id: &str,
    account_id: &str,
) -> Result<(), ConnectorError> {
    let mut ldap = connect(settings).await?;
    let group = find_group(&mut ldap, settings, resource_id).await?;
    let user = find_user(&mut ldap, settings, account_id).await?;
    let value = group.value_for(&user);
    let remove = Mod::Delete(group.attribute, HashSet::from([value.as_str()]));
    let result = modify(&mut ldap, settings, &group, vec![remove.clone()]).await?;
    match result.rc {
        rc::SUCCESS | rc::NO_SUCH_ATTRIBUTE => Ok(()),
        rc::UNWILLING_TO_PERFORM if group.may_be_empty => {
            if has_value(&mut ldap, settings, &group, &value).await? {
                Err(change_error(&group, &result))
            } else {
                Ok(())
            }
        }
        // The last member of a group that needs one: the placeholder takes its place, in the
        // same operation so the group is never without a member.
        rc::OBJECT_CLASS_VIOLATION if group.needs_a_member() => {
            let placeholder = Mod::Add(group.attribute, HashSet::from([settings.bind_dn.as_str()]));
            let result = modify(&mut ldap, settings, &group, vec![placeholder, remove]).await?;
            match result.rc {
                rc::SUCCESS | rc::NO_SUCH_ATTRIBUTE => Ok(()),
                _ => Err(change_error(&group, &result)),
            }
        }
        _ => Err(change_error(&group, &result)),
    }
}

/// Creates a group `cn=<name>` under the group base: a groupOfNames with the bind DN as
/// placeholder member, or on Active Directory an empty global security group. A name already
/// taken by a group anywhere under the group base is an error: adopting someone else's group
/// would hand its members to Oblique, and two groups of one name would be told apart by nobody.
pub(super) async fn create_resource(
    settings: &LdapSettings,
    name: &str,
) -> Result<RemoteResource, ConnectorError> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        let message = format!("{name:?} is not a valid group name");
        return Err(ConnectorError::Remote(message));
    }
    let mut ldap = connect(settings).await?;
    if name_is_taken(&mut ldap, settings, name).await? {
        return Err(taken(name));
    }
    let dn = format!("cn={},{}", dn_escape(name), settings.group_base);
    let entry = if settings.is_active_directory() {
        vec![
            ("objectClass", HashSet::from(["top", "group"])),
            ("cn", HashSet::from([name])),
            ("sAMAccountName", HashSet::from([name])),
            ("groupType", HashSet::from([GLOBAL_SECURITY_GROUP])),
        ]
    } else {
        vec![
            ("objectClass", HashSet::from(["top", "groupOfNames"])),
            ("cn", HashSet::from([name])),
            (MEMBER, HashSet::from([settings.bind_dn.as_str()])),
        ]
    };
    let add = ldap.with_timeout(settings.timeout).add(&dn, entry);
    let result = answer(settings, add)
        .await?
        .map_err(|error| operation_error(error, settings, |r| result_error("add", r)))?;
    match result.rc {
        rc::SUCCESS => {}
        rc::ENTRY_ALREADY_EXISTS => return Err(taken(name)),
        rc::INSUFFICIENT_ACCESS_RIGHTS => {
            let message = format!(
                "the bind DN may not create groups under config.group_base: {}",
                result.text
            );
            return Err(ConnectorError::Remote(message));
        }
        _ => return Err(result_error(&format!("create group {name:?}"), &result)),
    }
    // Read back through the group filter: a group the listings cannot see would be taken for
    // deleted by the next sync.
    let id = settings.id_attribute;
    let filter = settings.group_filter.clone();
    let search = Search::start(
        &mut ldap,
        settings,
        Base::Groups,
        &dn,
        Scope::Base,
        &filter,
        vec![id.name().to_string()],
    );
    let created = search.await?.collect(settings).await?;
    let external_id = created
        .first()
        .and_then(|entry| id.read(entry).ok().flatten());
    let Some(external_id) = external_id else {
        let delete = ldap.with_timeout(settings.timeout).delete(&dn);
        let _ = answer(settings, delete).await;
        return Err(ConnectorError::Remote(format!(
            "a group named {name:?} would not match config.group_filter (or has no {}): not \
             created",
            id.name()
        )));
    };
    Ok(RemoteResource {
        member_names: Vec::new(),
        external_id,
        resource_type: crate::model::ResourceType::Group,
        name: name.to_string(),
        description: String::new(),
    })
}

/// ADS_GROUP_TYPE_GLOBAL_GROUP | ADS_GROUP_TYPE_SECURITY_ENABLED.
const GLOBAL_SECURITY_GROUP: &str = "-2147483646";

fn taken(name: &str) -> ConnectorError {
    ConnectorError::Remote(format!("a group named {name:?} already exists"))
}

/// Whether a group the listings see (under the group base, matching the group filter) is
/// already called `name`, wherever it is under the base.
async fn name_is_taken(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    name: &str,
) -> Result<bool, ConnectorError> {
    let filter = format!("(&{}(cn={}))", settings.group_filter, ldap_escape(name));
    let base = settings.group_base.clone();
    let search = Search::start(
        ldap,
        settings,
        Base::Groups,
        &base,
        Scope::Subtree,
        &filter,
        vec!["1.1".to_string()],
    )
    .await?;
    Ok(!search.collect(settings).await?.is_empty())
}

/// Whether `group` lists `value` among its members (the server compares, by the attribute's
/// matching rule).
async fn has_value(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    group: &Group,
    value: &str,
) -> Result<bool, ConnectorError> {
    let compare = ldap
        .with_timeout(settings.timeout)
        .compare(&group.dn, group.attribute, value);
    let result = answer(settings, compare)
        .await?
        .map_err(|error| operation_error(error, settings, |r| result_error("compare", r)))?
        .0;
    match result.rc {
        rc::COMPARE_TRUE => Ok(true),
        rc::COMPARE_FALSE | rc::NO_SUCH_ATTRIBUTE => Ok(false),
        _ => Err(result_error("compare", &result)),
    }
}

/// Modifies the group; returns the result when it is success or one of the codes that mean
/// "already so" or "last member" (20, 16, 65), for the caller to judge, and an error otherwise.
async fn modify(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    group: &Group,
    changes: Vec<Mod<&str>>,
) -> Result<ldap3::LdapResult, ConnectorError> {
    let modify = ldap
        .with_timeout(settings.timeout)
        .modify(&group.dn, changes);
    let result = answer(settings, modify)
        .await?
        .map_err(|error| operation_error(error, settings, |r| result_error("modify", r)))?;
    match result.rc {
        rc::SUCCESS
        | rc::ATTRIBUTE_OR_VALUE_EXISTS
        | rc::NO_SUCH_ATTRIBUTE
        | rc::OBJECT_CLASS_VIOLATION => Ok(result),
        // Active Directory's "already a member" and (maybe) "not a member": see the module.
        rc::ENTRY_ALREADY_EXISTS | rc::UNWILLING_TO_PERFORM if group.may_be_empty => Ok(result),
        _ => Err(change_error(group, &result)),
    }
}

fn change_error(group: &Group, result: &ldap3::LdapResult) -> ConnectorError {
    if result.rc == rc::INSUFFICIENT_ACCESS_RIGHTS {
        return ConnectorError::Remote(format!(
            "the bind DN may not change the members of {}: {}",
            group.dn, result.text
        ));
    }
    result_error(&format!("change the members of {}", group.dn), result)
}
