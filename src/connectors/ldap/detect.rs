//! Which directory a setup reaches, read from its root DSE when the setup does not say: Active
//! Directory announces itself with the capability 1.2.840.113556.1.4.800 (LDAP_CAP_ACTIVE_
//! DIRECTORY_OID, which Samba's AD DC also sends), 389-ds (and FreeIPA on it) with its vendor
//! name; anything else is taken for OpenLDAP-like, with entryUUID (RFC 4530).

use ldap3::{Ldap, Scope};

use super::connect::{answer, connect};
use super::entry::Entry;
use super::errors::{operation_error, rc, result_error};
use super::identity::IdAttribute;
use super::settings::LdapSettings;
use super::setup::{complete, id_attribute};
use crate::connectors::{ConnectorError, Setup};

const ACTIVE_DIRECTORY_CAPABILITY: &str = "1.2.840.113556.1.4.800";

/// Completes a new or changed setup: `id_attribute` from the setup or the server, and the
/// defaults of that directory in the fields left out.
pub async fn complete_setup(mut setup: Setup) -> Result<Setup, ConnectorError> {
    let id = match setup.config("id_attribute") {
        Some(_) => id_attribute(&setup)?,
        None => {
            let settings = LdapSettings::from_setup(&setup)?;
            let mut ldap = connect(&settings).await?;
            detect(&mut ldap, &settings).await?
        }
    };
    complete(&mut setup, id);
    Ok(setup)
}

async fn detect(ldap: &mut Ldap, settings: &LdapSettings) -> Result<IdAttribute, ConnectorError> {
    let root = read_one(ldap, settings, "", &["supportedCapabilities", "vendorName"]).await?;
    let Some(root) = root else {
        return Ok(IdAttribute::EntryUuid);
    };
    let has = |attribute: &str, wanted: &dyn Fn(&str) -> bool| {
        root.texts(attribute)
            .unwrap_or_default()
            .into_iter()
            .any(wanted)
    };
    if has("supportedCapabilities", &|c| {
        c == ACTIVE_DIRECTORY_CAPABILITY
    }) {
        return Ok(IdAttribute::ObjectGuid);
    }
    if has("vendorName", &|v| v.contains("389")) {
        return Ok(IdAttribute::NsUniqueId);
    }
    // A server that names no vendor: the base entry shows which id it keeps.
    let base = read_one(
        ldap,
        settings,
        &settings.base_dn,
        &["entryUUID", "nsUniqueId"],
    )
    .await?;
    let keeps = |name: &str| base.as_ref().is_some_and(|e| !e.raw(name).is_empty());
    Ok(if !keeps("entryUUID") && keeps("nsUniqueId") {
        IdAttribute::NsUniqueId
    } else {
        IdAttribute::EntryUuid
    })
}

/// The entry `dn` with `attributes` (a plain base search: the root DSE is not paged); `None`
/// when the bind DN cannot see it.
async fn read_one(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    dn: &str,
    attributes: &[&str],
) -> Result<Option<Entry>, ConnectorError> {
    let search = ldap.with_timeout(settings.timeout).search(
        dn,
        Scope::Base,
        "(objectClass=*)",
        attributes.to_vec(),
    );
    let result = answer(settings, search)
        .await?
        .map_err(|error| operation_error(error, settings, |r| result_error("search", r)))?;
    match result.1.rc {
        rc::SUCCESS => Ok(result.0.into_iter().next().and_then(Entry::parse)),
        rc::NO_SUCH_OBJECT | rc::INSUFFICIENT_ACCESS_RIGHTS => Ok(None),
        _ => Err(result_error("search", &result.1)),
    }
}
