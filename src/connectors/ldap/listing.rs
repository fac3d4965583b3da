//! What a sync pulls: user entries as accounts, group entries as resources, and the groups'
//! member / uniqueMember (DNs) and memberUid (usernames) values as access. Entries are known by
//! entryUUID, which survives renames and moves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ldap3::{Ldap, Scope};

use super::connect::connect;
use super::dn;
use super::entry::Entry;
use super::pages::{PageSender, Stop, spawn_listing};
use super::search::Search;
use super::settings::{Base, LdapSettings};
use crate::connectors::{
    ConnectorError, Listed, ObjectProblem, PageStream, RemoteAccess, RemoteAccount, RemoteResource,
};

const ENTRY_UUID: &str = "entryUUID";
/// The membership attributes of groupOfNames, groupOfUniqueNames and posixGroup.
pub(super) const MEMBER: &str = "member";
pub(super) const UNIQUE_MEMBER: &str = "uniqueMember";
pub(super) const MEMBER_UID: &str = "memberUid";

/// Users by (normalised) DN and by (lowercased) username, to resolve group members to
/// entryUUIDs. A 20,000-user directory makes a few MB.
#[derive(Debug, Default)]
pub(super) struct UserIndex {
    by_dn: HashMap<String, String>,
    by_username: HashMap<String, String>,
}

impl UserIndex {
    fn insert(&mut self, entry: &Entry, settings: &LdapSettings) {
        let Ok(Some(uuid)) = entry.first_text(ENTRY_UUID) else {
            return;
        };
        self.by_dn
            .insert(dn::normalize(&entry.dn), uuid.to_string());
        if let Ok(Some(username)) = entry.first_text(&settings.username_attribute) {
            self.by_username
                .insert(username.to_lowercase(), uuid.to_string());
        }
    }
}

/// Where the accounts listing leaves its index for the access listing that follows it in a
/// sync, which then needs no second search of every user.
pub(super) type IndexSlot = Arc<Mutex<Option<UserIndex>>>;

pub(super) fn accounts(
    settings: &LdapSettings,
    slot: &IndexSlot,
) -> PageStream<'static, RemoteAccount> {
    let (settings, slot) = (settings.clone(), slot.clone());
    spawn_listing(settings.page_size.into(), |mut pages| async move {
        let mut ldap = connect(&settings).await?;
        let mut search = user_search(&mut ldap, &settings, account_attributes(&settings)).await?;
        let mut index = UserIndex::default();
        loop {
            let batch = search
                .next_batch(&settings, settings.page_size.into())
                .await?;
            if batch.is_empty() {
                break;
            }
            for entry in batch {
                index.insert(&entry, &settings);
                pages.push(read_account(&entry, &settings)).await?;
            }
        }
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(index);
        }
        Ok(pages)
    })
}

pub(super) fn resources(settings: &LdapSettings) -> PageStream<'static, RemoteResource> {
    let settings = settings.clone();
    spawn_listing(settings.page_size.into(), |mut pages| async move {
        let mut ldap = connect(&settings).await?;
        let attributes = [ENTRY_UUID, "cn", "description"].map(String::from).to_vec();
        let mut search = group_search(&mut ldap, &settings, attributes).await?;
        loop {
            let batch = search
                .next_batch(&settings, settings.page_size.into())
                .await?;
            if batch.is_empty() {
                return Ok(pages);
            }
            for entry in batch {
                pages.push(read_group(&entry)).await?;
            }
        }
    })
}

pub(super) fn access(
    settings: &LdapSettings,
    slot: &IndexSlot,
) -> PageStream<'static, RemoteAccess> {
    // Taken, not copied: an index is only as fresh as the accounts listing that made it.
    let cached = slot.lock().ok().and_then(|mut slot| slot.take());
    let settings = settings.clone();
    spawn_listing(settings.page_size.into(), |mut pages| async move {
        let mut ldap = connect(&settings).await?;
        let index = match cached {
            Some(index) => index,
            None => index_users(&mut ldap, &settings).await?,
        };
        let attributes = [ENTRY_UUID, MEMBER, UNIQUE_MEMBER, MEMBER_UID]
            .map(String::from)
            .to_vec();
        let mut search = group_search(&mut ldap, &settings, attributes).await?;
        let placeholder = dn::normalize(&settings.bind_dn);
        loop {
            let batch = search
                .next_batch(&settings, settings.page_size.into())
                .await?;
            if batch.is_empty() {
                return Ok(pages);
            }
            for entry in batch {
                push_memberships(&entry, &index, &placeholder, &mut pages).await?;
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

async fn index_users(
    ldap: &mut Ldap,
    settings: &LdapSettings,
) -> Result<UserIndex, ConnectorError> {
    let attributes = vec![ENTRY_UUID.to_string(), settings.username_attribute.clone()];
    let mut search = user_search(ldap, settings, attributes).await?;
    let mut index = UserIndex::default();
    loop {
        let batch = search
            .next_batch(settings, settings.page_size.into())
            .await?;
        if batch.is_empty() {
            return Ok(index);
        }
        for entry in &batch {
            index.insert(entry, settings);
        }
    }
}

/// What the accounts listing asks for: the id, the fields of an account and the configured
/// attributes, each once.
fn account_attributes(settings: &LdapSettings) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let fixed = [
        ENTRY_UUID,
        &settings.username_attribute,
        &settings.email_attribute,
        "displayName",
        "cn",
    ];
    let configured = settings.user_attributes.iter().map(String::as_str);
    for name in fixed.into_iter().chain(configured) {
        if !names.iter().any(|known| known.eq_ignore_ascii_case(name)) {
            names.push(name.to_string());
        }
    }
    names
}

/// A problem with the entry `entry`, listed as `kind` (`account`, `resource`).
fn problem(entry: &Entry, kind: &str, message: impl Into<String>) -> ObjectProblem {
    ObjectProblem {
        external_id: entry
            .first_text(ENTRY_UUID)
            .ok()
            .flatten()
            .map(String::from),
        object: format!("{kind}:{}", entry.dn),
        message: message.into(),
    }
}

/// Reads what every listed entry needs: a readable DN, an entryUUID and text values only.
fn check_entry(entry: &Entry, kind: &str) -> Listed<String> {
    let uuid = match entry.first_text(ENTRY_UUID) {
        Ok(Some(uuid)) if !uuid.trim().is_empty() => uuid.to_string(),
        // An empty id would make every such entry one and the same object.
        Ok(Some(_)) => return Err(problem(entry, kind, "has an empty entryUUID")),
        Ok(None) => {
            let message = "has no entryUUID (may the bind DN read operational attributes?)";
            return Err(problem(entry, kind, message));
        }
        Err(error) => return Err(problem(entry, kind, error.to_string())),
    };
    if !entry.dn_is_utf8 {
        return Err(problem(entry, kind, "its DN is not UTF-8 text"));
    }
    entry
        .check_utf8()
        .map_err(|error| problem(entry, kind, error.to_string()))?;
    Ok(uuid)
}

fn read_account(entry: &Entry, settings: &LdapSettings) -> Listed<RemoteAccount> {
    let external_id = check_entry(entry, "account")?;
    // Values are known to be text from here on: check_entry looked at every one.
    let first = |name: &str| entry.first_text(name).ok().flatten().map(str::to_string);
    let Some(username) = first(&settings.username_attribute).filter(|u| !u.trim().is_empty())
    else {
        let message = format!(
            "has no {} (config.username_attribute)",
            settings.username_attribute
        );
        return Err(problem(entry, "account", message));
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
    Ok(RemoteAccount {
        external_id,
        email: first(&settings.email_attribute),
        username,
        display_name,
        attributes,
    })
}

fn read_group(entry: &Entry) -> Listed<RemoteResource> {
    let external_id = check_entry(entry, "resource")?;
    let first = |name: &str| entry.first_text(name).ok().flatten().map(str::to_string);
    let Some(name) = first("cn") else {
        return Err(problem(entry, "resource", "has no cn"));
    };
    Ok(RemoteResource {
        external_id,
        resource_type: crate::model::ResourceType::Group,
        name,
        description: first("description").unwrap_or_default(),
    })
}

/// The group's members as access pairs. A member the index does not know (outside the user
/// base or filter, a nested group) is sent as it is written, so the engine counts it as
/// unresolved. The bind DN is left out: it is the placeholder member of the groups Oblique
/// creates (see `push::create_resource`).
async fn push_memberships(
    entry: &Entry,
    index: &UserIndex,
    placeholder: &str,
    pages: &mut PageSender<RemoteAccess>,
) -> Result<(), Stop> {
    // A group without an id was reported by the resources listing.
    let Ok(Some(group)) = entry.first_text(ENTRY_UUID) else {
        return Ok(());
    };
    let pair = |account: &str| RemoteAccess {
        resource_external_id: group.to_string(),
        account_external_id: account.to_string(),
    };
    for attribute in [MEMBER, UNIQUE_MEMBER] {
        for value in entry.texts(attribute).unwrap_or_default() {
            let member = dn::without_unique_id(value);
            let key = dn::normalize(member);
            if key == placeholder {
                continue;
            }
            let account = index.by_dn.get(&key).map_or(member, String::as_str);
            pages.push(Ok(pair(account))).await?;
        }
    }
    for value in entry.texts(MEMBER_UID).unwrap_or_default() {
        let account = index
            .by_username
            .get(&value.to_lowercase())
            .map_or(value, String::as_str);
        pages.push(Ok(pair(account))).await?;
    }
    Ok(())
}

#[cfg(test)]
mod decoding_fuzz;
#[cfg(test)]
mod tests;
