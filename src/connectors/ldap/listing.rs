//! What a sync pulls: user entries as accounts, group entries as resources, and the groups'
//! member / uniqueMember (DNs) and memberUid (usernames) values as access (see [`memberships`]).
//! Entries are known by the setup's id attribute (see [`super::identity`]), which survives
//! renames and moves.

use ldap3::{Ldap, Scope};

use super::connect::connect;
use super::dn;
use super::entry::Entry;
use super::pages::spawn_listing;
use super::search::Search;
use super::settings::{Base, LdapSettings};
use crate::connectors::{
    ConnectorError, Listed, ObjectProblem, PageStream, RemoteAccount, RemoteResource,
};

/// The membership attributes of groupOfNames, groupOfUniqueNames and posixGroup.
pub(super) const MEMBER: &str = "member";
pub(super) const UNIQUE_MEMBER: &str = "uniqueMember";
pub(super) const MEMBER_UID: &str = "memberUid";

/// The member name of the user whose DN has the key `dn_key` (see [`dn::normalize`] and
/// `RemoteAccount::member_names`): how a member or uniqueMember value names it, whatever its
/// case and spacing.
pub(super) fn dn_member_name(dn_key: &str) -> String {
    format!("dn:{dn_key}")
}

/// The member name of the user `username`, as a memberUid value names it (case-insensitively,
/// as directories compare uid).
pub(super) fn uid_member_name(username: &str) -> String {
    format!("uid:{}", username.to_lowercase())
}

/// The users, each with its member names (its DN's and its username's): the engine resolves
/// group members against them in staging, so no index of every user is kept here.
pub(super) fn accounts(settings: &LdapSettings) -> PageStream<'static, RemoteAccount> {
    let settings = settings.clone();
    spawn_listing(settings.page_size.into(), |mut pages| async move {
        let mut ldap = connect(&settings).await?;
        let mut search = user_search(&mut ldap, &settings, account_attributes(&settings)).await?;
        loop {
            let batch = search
                .next_batch(&settings, settings.page_size.into())
                .await?;
            if batch.is_empty() {
                return Ok(pages);
            }
            for entry in batch {
                pages.push(read_account(&entry, &settings)).await?;
            }
        }
    })
}

pub(super) fn resources(settings: &LdapSettings) -> PageStream<'static, RemoteResource> {
    let settings = settings.clone();
    spawn_listing(settings.page_size.into(), |mut pages| async move {
        let mut ldap = connect(&settings).await?;
        let id = settings.id_attribute.name();
        let attributes = [id, "cn", "description"].map(String::from).to_vec();
        let mut search = group_search(&mut ldap, &settings, attributes).await?;
        loop {
            let batch = search
                .next_batch(&settings, settings.page_size.into())
                .await?;
            if batch.is_empty() {
                return Ok(pages);
            }
            for entry in batch {
                pages.push(read_group(&entry, &settings)).await?;
            }
        }
    })
}

async fn user_search(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    attributes: Vec<String>,
) -> Result<Search, ConnectorError> {
    let base = settings.user_base.clone();
    let filter = settings.user_filter.clone();
    Search::start(
        ldap,
        settings,
        Base::Users,
        &base,
        Scope::Subtree,
        &filter,
        attributes,
    )
    .await
}

pub(super) async fn group_search(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    attributes: Vec<String>,
) -> Result<Search, ConnectorError> {
    let base = settings.group_base.clone();
    let filter = settings.group_filter.clone();
    Search::start(
        ldap,
        settings,
        Base::Groups,
        &base,
        Scope::Subtree,
        &filter,
        attributes,
    )
    .await
}

/// What the accounts listing asks for: the id, the fields of an account and the configured
/// attributes, each once.
fn account_attributes(settings: &LdapSettings) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let fixed = [
        settings.id_attribute.name(),
        &settings.username_attribute,
        &settings.email_attribute,
        "displayName",
        "cn",
    ];
    let ad = settings
        .is_active_directory()
        .then_some(USER_ACCOUNT_CONTROL);
    let configured = settings.user_attributes.iter().map(String::as_str);
    for name in fixed.into_iter().chain(ad).chain(configured) {
        if !names.iter().any(|known| known.eq_ignore_ascii_case(name)) {
            names.push(name.to_string());
        }
    }
    names
}

/// A problem with the entry `entry`, listed as `kind` (`account`, `resource`).
fn problem(
    entry: &Entry,
    settings: &LdapSettings,
    kind: &str,
    message: impl Into<String>,
) -> ObjectProblem {
    ObjectProblem {
        external_id: settings.id_attribute.read(entry).ok().flatten(),
        object: format!("{kind}:{}", entry.dn),
        message: message.into(),
    }
}

/// Reads what every listed entry needs: a readable DN, an id and text values only (the id
/// itself may be bytes: objectGUID).
fn check_entry(entry: &Entry, settings: &LdapSettings, kind: &str) -> Listed<String> {
    let id = settings.id_attribute;
    let uuid = match id.read(entry) {
        Ok(Some(uuid)) => uuid,
        Ok(None) => {
            let message = format!(
                "has no {} (may the bind DN read operational attributes?)",
                id.name()
            );
            return Err(problem(entry, settings, kind, message));
        }
        // An empty id would make every such entry one and the same object.
        Err(error) => return Err(problem(entry, settings, kind, error)),
    };
    if !entry.dn_is_utf8 {
        return Err(problem(entry, settings, kind, "its DN is not UTF-8 text"));
    }
    let binary: &[&str] = if id.is_binary() { &[id.name()] } else { &[] };
    entry
        .check_utf8(binary)
        .map_err(|error| problem(entry, settings, kind, error.to_string()))?;
    Ok(uuid)
}

/// Active Directory's account flags (MS-ADTS 2.2.16), shown as attributes `disabled` and
/// `locked_out` ("true"/"false") so that a disabled account is visible as such.
const USER_ACCOUNT_CONTROL: &str = "userAccountControl";
const ACCOUNTDISABLE: i64 = 0x2;
const LOCKOUT: i64 = 0x10;

fn account_flags(entry: &Entry) -> Vec<(String, Vec<String>)> {
    let Some(flags) = entry
        .first_text(USER_ACCOUNT_CONTROL)
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<i64>().ok())
    else {
        return Vec::new();
    };
    let flag = |bit: i64| vec![(flags & bit != 0).to_string()];
    vec![
        ("disabled".to_string(), flag(ACCOUNTDISABLE)),
        ("locked_out".to_string(), flag(LOCKOUT)),
    ]
}

fn read_account(entry: &Entry, settings: &LdapSettings) -> Listed<RemoteAccount> {
    let external_id = check_entry(entry, settings, "account")?;
    // Values are known to be text from here on: check_entry looked at every one.
    let first = |name: &str| entry.first_text(name).ok().flatten().map(str::to_string);
    let Some(username) = first(&settings.username_attribute).filter(|u| !u.trim().is_empty())
    else {
        let message = format!(
            "has no {} (config.username_attribute)",
            settings.username_attribute
        );
        return Err(problem(entry, settings, "account", message));
    };
    let display_name = first("displayName")
        .or_else(|| first("cn"))
        .unwrap_or_else(|| username.clone());
    let mut attributes = vec![("dn".to_string(), vec![entry.dn.clone()])];
    for name in &settings.user_attributes {
        let values = entry.texts(name).unwrap_or_default();
        if !values.is_empty() {
            attributes.push((name.clone(), values.into_iter().map(String::from).collect()));
        }
    }
    if settings.is_active_directory() {
        attributes.extend(account_flags(entry));
    }
    let member_names = vec![
        dn_member_name(&dn::normalize(&entry.dn)),
        uid_member_name(&username),
    ];
    Ok(RemoteAccount {
        external_id,
        member_names,
        email: first(&settings.email_attribute),
        username,
        display_name,
        attributes,
    })
}

fn read_group(entry: &Entry, settings: &LdapSettings) -> Listed<RemoteResource> {
    let external_id = check_entry(entry, settings, "resource")?;
    let first = |name: &str| entry.first_text(name).ok().flatten().map(str::to_string);
    let Some(name) = first("cn") else {
        return Err(problem(entry, settings, "resource", "has no cn"));
    };
    // Member groups are expanded by the engine from the groups' DNs (see `memberships`);
    // Active Directory expands them itself.
    let member_names = match settings.expand_nested_groups && !settings.is_active_directory() {
        true => vec![dn_member_name(&dn::normalize(&entry.dn))],
        false => Vec::new(),
    };
    Ok(RemoteResource {
        external_id,
        member_names,
        resource_type: crate::model::ResourceType::Group,
        name,
        description: first("description").unwrap_or_default(),
    })
}

#[cfg(test)]
mod decoding_fuzz;
#[cfg(test)]
pub(super) mod tests;
