//! The setup form of the `ldap` integration type, and reading a checked setup into settings.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::identity::IdAttribute;
use super::settings::LdapSettings;
use crate::connectors::setup::{field, invalid};
use crate::connectors::tls::TrustAnchors;
use crate::connectors::{ConnectorError, Setup, SetupField};

pub(super) const DEFAULT_GROUP_FILTER: &str =
    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))";

/// The fields whose default depends on the directory, and their defaults: for OpenLDAP (and
/// 389-ds, FreeIPA: inetOrgPerson and groupOfNames there too), then for Active Directory.
/// Computer accounts are users in AD too: objectCategory=person leaves them out.
const DIRECTORY_DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "user_filter",
        "(objectClass=inetOrgPerson)",
        "(&(objectCategory=person)(objectClass=user))",
    ),
    ("group_filter", DEFAULT_GROUP_FILTER, "(objectClass=group)"),
    ("username_attribute", "uid", "sAMAccountName"),
    (
        "user_attributes",
        "cn,givenName,sn,title,departmentNumber,employeeType,manager,telephoneNumber",
        "cn,givenName,sn,title,department,userPrincipalName,manager,telephoneNumber",
    ),
];

/// The setup's `id_attribute`; entryUUID when absent (configs from before the field).
pub(super) fn id_attribute(setup: &Setup) -> Result<IdAttribute, ConnectorError> {
    match setup.config("id_attribute").map(str::trim) {
        None | Some("") => Ok(IdAttribute::EntryUuid),
        Some(name) => IdAttribute::from_name(name).ok_or_else(|| {
            invalid(
                "config.id_attribute",
                "must be entryUUID, objectGUID or nsUniqueId",
            )
        }),
    }
}

/// Writes `id` and the defaults of its directory into the fields left out, so that the stored
/// config says what a sync does.
pub(super) fn complete(setup: &mut Setup, id: IdAttribute) {
    setup
        .config
        .insert("id_attribute".into(), id.name().to_string());
    for (name, _, _) in DIRECTORY_DEFAULTS {
        if setup.config(name).is_none() {
            let value = directory_default(name, id).unwrap_or_default();
            setup.config.insert(name.to_string(), value.to_string());
        }
    }
}

fn directory_default(name: &str, id: IdAttribute) -> Option<&'static str> {
    DIRECTORY_DEFAULTS
        .iter()
        .find(|(field, _, _)| *field == name)
        .map(|(_, other, ad)| {
            if id.is_active_directory() {
                *ad
            } else {
                *other
            }
        })
}

/// The largest page a setup may ask for: servers cap pages well below this anyway.
const MAX_PAGE_SIZE: u16 = 10_000;
const MAX_TIMEOUT_SECONDS: u64 = 3600;

/// The setup form of the `ldap` integration type.
pub const SETUP_FIELDS: &[SetupField] = &[
    field(
        "url",
        "ldaps://host[:port], or ldap://host[:port] with starttls (plain ldap:// only with \
         allow_plaintext)",
        true,
        false,
        None,
    ),
    field(
        "starttls",
        "true to upgrade an ldap:// connection with StartTLS before binding",
        false,
        false,
        Some("false"),
    ),
    field(
        "ca_cert",
        "PEM certificate(s) of the CA that signed the server's certificate, trusted for ldaps:// \
         and StartTLS instead of this machine's root CAs",
        false,
        false,
        None,
    ),
    field(
        "allow_plaintext",
        "true to allow ldap:// without StartTLS: the bind password and all entries then cross \
         the network unencrypted",
        false,
        false,
        Some("false"),
    ),
    field("bind_dn", "DN Oblique binds as", true, false, None),
    field("bind_password", "Password of the bind DN", true, true, None),
    field(
        "base_dn",
        "Base DN of the directory (checked at setup)",
        true,
        false,
        None,
    ),
    field(
        "user_base",
        "Where users are searched (default: base_dn)",
        false,
        false,
        None,
    ),
    field(
        "group_base",
        "Where groups are searched and created (default: base_dn)",
        false,
        false,
        None,
    ),
    field(
        "user_filter",
        "LDAP filter selecting user entries (default: (objectClass=inetOrgPerson); on Active \
         Directory (&(objectCategory=person)(objectClass=user)))",
        false,
        false,
        None,
    ),
    field(
        "group_filter",
        "LDAP filter selecting group entries (default: groupOfNames, groupOfUniqueNames and \
         posixGroup entries; on Active Directory (objectClass=group))",
        false,
        false,
        None,
    ),
    field(
        "username_attribute",
        "Attribute holding the username (default: uid; on Active Directory sAMAccountName)",
        false,
        false,
        None,
    ),
    field(
        "email_attribute",
        "Attribute holding the email address",
        false,
        false,
        Some("mail"),
    ),
    field(
        "user_attributes",
        "Comma-separated attributes copied to each account (default: cn, givenName, sn, title, \
         departmentNumber, employeeType, manager, telephoneNumber; on Active Directory cn, \
         givenName, sn, title, department, userPrincipalName, manager, telephoneNumber)",
        false,
        false,
        None,
    ),
    field(
        "id_attribute",
        "What identifies entries: entryUUID (OpenLDAP), objectGUID (Active Directory) or \
         nsUniqueId (389-ds, FreeIPA); detected from the server at setup when left out",
        false,
        false,
        None,
    ),
    field(
        "expand_nested_groups",
        "true to give the members of member groups access too, marked inherited (never pushed)",
        false,
        false,
        Some("false"),
    ),
    field(
        "page_size",
        "Entries per Simple Paged Results page",
        false,
        false,
        Some("500"),
    ),
    field(
        "timeout",
        "Seconds to wait for connecting or for any one answer",
        false,
        false,
        Some("30"),
    ),
];

/// The config fields that decide where the bind password is sent and how it is protected on the
/// way. Changing one of them without giving the password again would hand the stored one to a
/// new endpoint, so an update must carry the credentials too. Names that are not (yet) fields of
/// the form simply never change.
pub const CREDENTIAL_DESTINATION_FIELDS: &[&str] =
    &["url", "bind_dn", "starttls", "ca_cert", "allow_plaintext"];

impl LdapSettings {
    /// Reads a setup checked against [`SETUP_FIELDS`].
    pub fn from_setup(setup: &Setup) -> Result<Self, ConnectorError> {
        let id_attribute = id_attribute(setup)?;
        let config = |name: &str| match setup.config(name).map(str::trim) {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => match directory_default(name, id_attribute) {
                Some(default) => Ok(default.to_string()),
                None => Err(invalid(format!("config.{name}"), "is required")),
            },
        };
        let url = config("url")?;
        let starttls = boolean(&config("starttls")?, "config.starttls")?;
        let allow_plaintext = boolean(&config("allow_plaintext")?, "config.allow_plaintext")?;
        check_url(&url, starttls, allow_plaintext)?;
        let base_dn = config("base_dn")?;
        let under_base = |name: &str| config(name).unwrap_or_else(|_| base_dn.clone());
        let settings = LdapSettings {
            starttls,
            allow_plaintext,
            ca_cert: match config("ca_cert") {
                Ok(pem) => Some(TrustAnchors::from_pem("config.ca_cert", &pem)?),
                Err(_) => None,
            },
            bind_dn: config("bind_dn")?,
            // Not trimmed: spaces may be part of a password.
            bind_password: match setup.credential("bind_password") {
                Some(password) if !password.expose_secret().is_empty() => password.clone(),
                _ => return Err(invalid("credentials.bind_password", "is required")),
            },
            user_base: under_base("user_base"),
            group_base: under_base("group_base"),
            user_filter: filter(&config("user_filter")?, "config.user_filter")?,
            group_filter: filter(&config("group_filter")?, "config.group_filter")?,
            username_attribute: attribute(&config("username_attribute")?, "username_attribute")?,
            email_attribute: attribute(&config("email_attribute")?, "email_attribute")?,
            user_attributes: attribute_list(&config("user_attributes")?)?,
            page_size: number(
                &config("page_size")?,
                "config.page_size",
                MAX_PAGE_SIZE.into(),
            )? as u16,
            timeout: Duration::from_secs(number(
                &config("timeout")?,
                "config.timeout",
                MAX_TIMEOUT_SECONDS,
            )?),
            expand_nested_groups: boolean(
                &config("expand_nested_groups")?,
                "config.expand_nested_groups",
            )?,
            id_attribute,
            url,
            base_dn,
        };
        Ok(settings)
    }
}

/// Only a scheme and an authority: an LDAP URL's DN, attributes or filter would silently
/// disagree with the other fields, and `ldapi://` would reach a socket on Oblique's own machine.
/// Plain `ldap://` without StartTLS is refused unless the caller opted in with `allow_plaintext`:
/// a simple bind sends the password as it is.
fn check_url(url: &str, starttls: bool, allow_plaintext: bool) -> Result<(), ConnectorError> {
    let lower = url.to_ascii_lowercase();
    let (tls, rest) = if let Some(rest) = lower.strip_prefix("ldaps://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("ldap://") {
        (false, rest)
    } else {
        return Err(invalid("config.url", "must start with ldap:// or ldaps://"));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '@', ' ']) {
        return Err(invalid(
            "config.url",
            "must be ldap://host[:port] or ldaps://host[:port], with nothing after the host",
        ));
    }
    if tls && starttls {
        return Err(invalid(
            "config.starttls",
            "ldaps:// is already TLS: StartTLS applies to ldap:// only",
        ));
    }
    if !tls && !starttls && !allow_plaintext {
        return Err(invalid(
            "config.url",
            "ldap:// without StartTLS would send the bind password unencrypted: use ldaps://, \
             or set starttls to true, or set allow_plaintext to true to accept a plaintext bind",
        ));
    }
    Ok(())
}

fn boolean(value: &str, field: &str) -> Result<bool, ConnectorError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(field, "must be true or false")),
    }
}

/// What a setup gives up of verified TLS, for the caller to see with the integration. Read from
/// the stored config alone.
pub fn setup_warnings(setup: &Setup) -> Vec<String> {
    let is = |name: &str| {
        setup
            .config(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    };
    let url = setup
        .config("url")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if url.starts_with("ldap://") && !is("starttls") && is("allow_plaintext") {
        vec![
            "allow_plaintext is set: the bind password and all entries cross the network \
             unencrypted"
                .to_string(),
        ]
    } else {
        Vec::new()
    }
}

fn filter(value: &str, field: &str) -> Result<String, ConnectorError> {
    match ldap3::parse_filter(value) {
        Ok(_) => Ok(value.to_string()),
        Err(()) => Err(invalid(
            field,
            format!("{value:?} is not an LDAP filter, e.g. (objectClass=inetOrgPerson)"),
        )),
    }
}

/// An attribute description: a name or numeric OID, with options (`cn;lang-de`).
fn attribute(value: &str, field: &str) -> Result<String, ConnectorError> {
    let valid = value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ';' | '.'));
    if valid {
        Ok(value.to_string())
    } else {
        Err(invalid(
            format!("config.{field}"),
            format!("{value:?} is not an attribute name"),
        ))
    }
}

fn attribute_list(value: &str) -> Result<Vec<String>, ConnectorError> {
    let mut names: Vec<String> = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let name = attribute(name, "user_attributes")?;
        if name.eq_ignore_ascii_case("dn") {
            return Err(invalid(
                "config.user_attributes",
                "dn is not an attribute: every account has its DN as attribute dn already",
            ));
        }
        if !names.iter().any(|known| known.eq_ignore_ascii_case(&name)) {
            names.push(name);
        }
    }
    Ok(names)
}

fn number(value: &str, field: &str, max: u64) -> Result<u64, ConnectorError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| invalid(field, format!("must be a whole number from 1 to {max}")))
}

#[cfg(test)]
mod tests;
