//! How to reach one directory and what to read from it, as read from an integration's setup.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use super::identity::IdAttribute;
use crate::connectors::tls::TrustAnchors;

/// How to reach one LDAP directory, and where its users and groups are.
#[derive(Clone)]
pub struct LdapSettings {
    /// `ldap://host[:port]` or `ldaps://host[:port]`, nothing after the authority.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    pub starttls: bool,
    /// The setup's `ca_cert`: what the server's certificate must be signed by (the platform's
    /// roots when absent), for ldaps:// and StartTLS alike.
    pub ca_cert: Option<TrustAnchors>,
    /// The caller accepted an `ldap://` URL without StartTLS: the bind crosses the network in
    /// clear text.
    pub allow_plaintext: bool,
    pub bind_dn: String,
    /// Secret: never logged, never in errors, hidden by `Debug`.
    pub bind_password: SecretString,
    pub base_dn: String,
    pub user_base: String,
    pub group_base: String,
    pub user_filter: String,
    pub group_filter: String,
    pub username_attribute: String,
    pub email_attribute: String,
    /// Attributes copied to each account, in the configured order.
    pub user_attributes: Vec<String>,
    /// Entries per Simple Paged Results page, and items per listed page.
    pub page_size: u16,
    /// Budget for connecting (TCP, TLS, bind) and for each answer awaited afterwards.
    pub timeout: Duration,
    /// What identifies entries; objectGUID also means the directory is Active Directory.
    pub id_attribute: IdAttribute,
    /// Members of member groups get access too, marked inherited.
    pub expand_nested_groups: bool,
}

impl fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("ca_cert", &self.ca_cert)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &"***")
            .field("base_dn", &self.base_dn)
            .field("user_base", &self.user_base)
            .field("group_base", &self.group_base)
            .field("user_filter", &self.user_filter)
            .field("group_filter", &self.group_filter)
            .field("username_attribute", &self.username_attribute)
            .field("email_attribute", &self.email_attribute)
            .field("user_attributes", &self.user_attributes)
            .field("page_size", &self.page_size)
            .field("timeout", &self.timeout)
            .field("id_attribute", &self.id_attribute)
            .field("expand_nested_groups", &self.expand_nested_groups)
            .finish()
    }
}

/// The searches a connector runs, each naming the setup field that chose its base, so that a
/// base the server does not know is reported against the right field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Base {
    /// base_dn itself.
    Directory,
    Users,
    Groups,
}

impl LdapSettings {
    /// Whether the connection is TLS (ldaps:// or StartTLS) before the bind.
    pub(super) fn uses_tls(&self) -> bool {
        self.starttls || self.url.to_ascii_lowercase().starts_with("ldaps://")
    }

    pub(super) fn is_active_directory(&self) -> bool {
        self.id_attribute.is_active_directory()
    }
}

impl Base {
    pub(super) fn dn(self, settings: &LdapSettings) -> &str {
        match self {
            Base::Directory => &settings.base_dn,
            Base::Users => &settings.user_base,
            Base::Groups => &settings.group_base,
        }
    }

    pub(super) fn field(self) -> &'static str {
        match self {
            Base::Directory => "config.base_dn",
            Base::Users => "config.user_base",
            Base::Groups => "config.group_base",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let settings = LdapSettings {
            url: "ldap://dir".into(),
            starttls: false,
            ca_cert: None,
            allow_plaintext: true,
            bind_dn: "cn=oblique,dc=example,dc=org".into(),
            bind_password: "s3cret-Ldap-77".into(),
            base_dn: "dc=example,dc=org".into(),
            user_base: "dc=example,dc=org".into(),
            group_base: "dc=example,dc=org".into(),
            user_filter: "(objectClass=inetOrgPerson)".into(),
            group_filter: "(objectClass=groupOfNames)".into(),
            username_attribute: "uid".into(),
            email_attribute: "mail".into(),
            user_attributes: vec!["cn".into()],
            page_size: 500,
            timeout: Duration::from_secs(1),
            id_attribute: IdAttribute::EntryUuid,
            expand_nested_groups: false,
        };
        let debug = format!("{settings:?}");
        assert!(
            debug.contains("***") && !debug.contains("s3cret"),
            "{debug}"
        );
    }
}
