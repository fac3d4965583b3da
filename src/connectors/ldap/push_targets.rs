//! The group and the user a push names by id (entryUUID, objectGUID …), looked up at the moment
//! of the change so that a rename or move since the pull does not misdirect it.

use ldap3::{Ldap, Scope};

use super::listing::{MEMBER, MEMBER_UID, UNIQUE_MEMBER, group_search};
use super::search::Search;
use super::settings::{Base, LdapSettings};
use crate::connectors::ConnectorError;

/// A group as it is named right now, and how it lists its members.
pub(super) struct Group {
    pub(super) dn: String,
    pub(super) attribute: &'static str,
    /// Active Directory's `group`, which may be empty and so needs no placeholder member.
    pub(super) may_be_empty: bool,
}

/// A user as it is named right now.
pub(super) struct User {
    pub(super) dn: String,
    pub(super) username: String,
}

impl Group {
    /// How this group names `user` among its members.
    pub(super) fn value_for(&self, user: &User) -> String {
        if self.attribute == MEMBER_UID {
            user.username.clone()
        } else {
            user.dn.clone()
        }
    }

    pub(super) fn needs_a_member(&self) -> bool {
        self.attribute != MEMBER_UID && !self.may_be_empty
    }
}

/// The group whose entryUUID is `external_id`, among those the listings see.
pub(super) async fn find_group(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    external_id: &str,
) -> Result<Group, ConnectorError> {
    let uuid = external_id;
    let filter = format!(
        "(&{}{})",
        settings.group_filter,
        id_filter(settings, external_id, "group")?
    );
    let mut scoped = settings.clone();
    scoped.group_filter = filter;
    let search = group_search(ldap, &scoped, vec!["objectClass".into()]).await?;
    let Some(entry) = search.collect(settings).await?.into_iter().next() else {
        let message = format!("group {uuid} no longer exists under config.group_base");
        return Err(ConnectorError::Remote(message));
    };
    let classes: Vec<String> = entry
        .texts("objectClass")
        .unwrap_or_default()
        .into_iter()
        .map(str::to_ascii_lowercase)
        .collect();
    let has = |class: &str| classes.iter().any(|c| c == class);
    let may_be_empty = has("group");
    let attribute = if has("groupofnames") || may_be_empty {
        // `group` is Active Directory's class, which lists members in `member` too.
        MEMBER
    } else if has("groupofuniquenames") {
        UNIQUE_MEMBER
    } else if has("posixgroup") {
        MEMBER_UID
    } else {
        return Err(ConnectorError::Remote(format!(
            "group {} is none of groupOfNames, groupOfUniqueNames or posixGroup: Oblique does \
             not know how it lists members",
            entry.dn
        )));
    };
    Ok(Group {
        dn: entry.dn,
        attribute,
        may_be_empty,
    })
}

/// The user whose entryUUID is `external_id`, among those the listings see.
pub(super) async fn find_user(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    external_id: &str,
) -> Result<User, ConnectorError> {
    let uuid = external_id;
    let filter = format!(
        "(&{}{})",
        settings.user_filter,
        id_filter(settings, external_id, "account")?
    );
    let attributes = vec![settings.username_attribute.clone()];
    let base = settings.user_base.clone();
    let search = Search::start(
        ldap,
        settings,
        Base::Users,
        &base,
        Scope::Subtree,
        &filter,
        attributes,
    );
    let Some(entry) = search.await?.collect(settings).await?.into_iter().next() else {
        let message = format!("account {uuid} no longer exists under config.user_base");
        return Err(ConnectorError::Remote(message));
    };
    let username = match entry.first_text(&settings.username_attribute) {
        Ok(Some(username)) => username.to_string(),
        _ => {
            let message = format!(
                "account {} has no readable {}",
                entry.dn, settings.username_attribute
            );
            return Err(ConnectorError::Remote(message));
        }
    };
    Ok(User {
        dn: entry.dn,
        username,
    })
}

/// The filter matching the entry with id `external_id`.
fn id_filter(
    settings: &LdapSettings,
    external_id: &str,
    kind: &str,
) -> Result<String, ConnectorError> {
    let id = settings.id_attribute;
    id.filter(external_id).ok_or_else(|| {
        let message = format!("{external_id:?} is not the {} of an LDAP {kind}", id.name());
        ConnectorError::Remote(message)
    })
}
