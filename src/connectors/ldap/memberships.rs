//! The access listing: each group's member / uniqueMember (DNs) and memberUid (usernames)
//! values, as member names (see `RemoteAccount::member_names`) that the engine resolves to the
//! users listed with them, in staging: nothing here grows with the number of users. On Active
//! Directory the `member` values are read in ranges (see [`ranged`]).
//!
//! With `expand_nested_groups`, the users of member groups (at any depth) have access too,
//! inherited: on Active Directory they are listed, marked inherited, by one search per group
//! with LDAP_MATCHING_RULE_IN_CHAIN (`memberOf:1.2.840.113556.1.4.1941:=`), which the server
//! evaluates (a user that is also a direct member is listed once, as direct); elsewhere every
//! member value is listed as it is, groups included, and the engine computes the closure in
//! staging from the groups' DNs, which the resources listing gives as their member names.

use std::collections::HashSet;

use ldap3::{Ldap, Scope, ldap_escape};

use super::connect::connect;
use super::dn;
use super::entry::Entry;
use super::listing::{
    MEMBER, MEMBER_UID, UNIQUE_MEMBER, dn_member_name, group_search, uid_member_name,
};
use super::pages::spawn_listing;
use super::ranged;
use super::search::Search;
use super::settings::{Base, LdapSettings};
use crate::connectors::{ConnectorError, PageStream, RemoteAccess};

const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

pub(super) fn access(settings: &LdapSettings) -> PageStream<'static, RemoteAccess> {
    let settings = settings.clone();
    spawn_listing(settings.page_size.into(), |mut pages| async move {
        let mut ldap = connect(&settings).await?;
        let ad = settings.is_active_directory();
        let id = settings.id_attribute.name().to_string();
        let attributes = if ad {
            vec![id, ranged::first_range(MEMBER)]
        } else {
            vec![id, MEMBER.into(), UNIQUE_MEMBER.into(), MEMBER_UID.into()]
        };
        // Member groups are expanded, not reported as unknown members. AD expands them itself,
        // so which members are groups is read first (elsewhere the engine tells, in staging).
        let groups = if ad && settings.expand_nested_groups {
            group_dns(&mut ldap, &settings).await?
        } else {
            HashSet::new()
        };
        let mut search = group_search(&mut ldap, &settings, attributes).await?;
        // The bind DN is the placeholder member of the groupOfNames Oblique creates; AD groups
        // may be empty, so there a bind DN among the members is a real one.
        let placeholder = (!ad).then(|| dn::normalize(&settings.bind_dn));
        let in_chain_too = ad && settings.expand_nested_groups;
        loop {
            let batch = search
                .next_batch(&settings, settings.page_size.into())
                .await?;
            if batch.is_empty() {
                break;
            }
            for entry in batch {
                // A group without an id was reported by the resources listing.
                let Ok(Some(group)) = settings.id_attribute.read(&entry) else {
                    continue;
                };
                let mut members = members(&mut ldap, &settings, &entry, &placeholder).await?;
                members.retain(|m| m.dn_key.as_ref().is_none_or(|k| !groups.contains(k)));
                // The members' names move into their pairs: one allocation a pair fewer.
                let direct: HashSet<String> = match in_chain_too {
                    true => members.iter().map(|m| m.name.clone()).collect(),
                    false => HashSet::new(),
                };
                for member in members {
                    pages.push(Ok(pair(&group, member.name, false))).await?;
                }
                if in_chain_too {
                    for name in in_chain(&mut ldap, &settings, &entry.dn).await? {
                        if !direct.contains(&name) {
                            pages.push(Ok(pair(&group, name, true))).await?;
                        }
                    }
                }
            }
        }
        Ok(pages)
    })
}

fn pair(group: &str, member_name: String, inherited: bool) -> RemoteAccess {
    RemoteAccess {
        resource_external_id: group.to_string(),
        account_external_id: member_name,
        by_member_name: true,
        inherited,
    }
}

/// One member value of a group.
#[derive(Debug)]
struct Member {
    /// The member name it gives: the user listed with it is the member (the engine counts a
    /// name no user has as unresolved).
    name: String,
    /// The member's DN key (none for memberUid values), to tell the placeholder and Active
    /// Directory's member groups.
    dn_key: Option<String>,
}

/// The group's members, the placeholder left out.
async fn members(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    entry: &Entry,
    placeholder: &Option<String>,
) -> Result<Vec<Member>, ConnectorError> {
    let mut members = Vec::new();
    let by_dn = |value: &str| {
        let key = dn::normalize(dn::without_unique_id(value));
        Member {
            name: dn_member_name(&key),
            dn_key: Some(key),
        }
    };
    if settings.is_active_directory() {
        for value in ranged::all_values(ldap, settings, entry, MEMBER).await? {
            // A DN is text; a member value that is not would be a server's fault, skipped.
            if let Ok(value) = std::str::from_utf8(&value) {
                members.push(by_dn(value));
            }
        }
        return Ok(members);
    }
    for attribute in [MEMBER, UNIQUE_MEMBER] {
        for value in entry.texts(attribute).unwrap_or_default() {
            let member = by_dn(value);
            if member.dn_key.as_ref() != placeholder.as_ref() {
                members.push(member);
            }
        }
    }
    for value in entry.texts(MEMBER_UID).unwrap_or_default() {
        members.push(Member {
            name: uid_member_name(value),
            dn_key: None,
        });
    }
    Ok(members)
}

/// The member names (by DN) of the users (under the user base and filter) that are members of
/// the group `dn` at any depth, as Active Directory computes it.
async fn in_chain(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    group_dn: &str,
) -> Result<Vec<String>, ConnectorError> {
    let filter = format!(
        "(&{}(memberOf:{IN_CHAIN}:={}))",
        settings.user_filter,
        ldap_escape(group_dn)
    );
    let base = settings.user_base.clone();
    // "1.1": no attributes, the DN is all that is needed.
    let search = Search::start(
        ldap,
        settings,
        Base::Users,
        &base,
        Scope::Subtree,
        &filter,
        vec!["1.1".to_string()],
    )
    .await?;
    let entries = search.collect(settings).await?;
    Ok(entries
        .iter()
        .map(|entry| dn_member_name(&dn::normalize(&entry.dn)))
        .collect())
}

/// The DN keys of every group the listings see.
async fn group_dns(
    ldap: &mut Ldap,
    settings: &LdapSettings,
) -> Result<HashSet<String>, ConnectorError> {
    let mut search = group_search(ldap, settings, vec!["1.1".to_string()]).await?;
    let mut dns = HashSet::new();
    loop {
        let batch = search
            .next_batch(settings, settings.page_size.into())
            .await?;
        if batch.is_empty() {
            return Ok(dns);
        }
        dns.extend(batch.iter().map(|entry| dn::normalize(&entry.dn)));
    }
}

#[cfg(test)]
mod tests;
