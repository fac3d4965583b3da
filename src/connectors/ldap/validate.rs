//! The check a new or changed setup passes before it is saved.

use ldap3::Scope;

use super::connect::connect;
use super::search::Search;
use super::settings::{Base, LdapSettings};
use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;

/// Checks that the settings work: the bind succeeds and the bind DN can read the base DN and
/// the user and group bases.
pub(super) async fn validate(settings: &LdapSettings) -> Result<(), ConnectorError> {
    let mut ldap = connect(settings).await?;
    let mut checked: Vec<String> = Vec::new();
    for base in [Base::Directory, Base::Users, Base::Groups] {
        let dn = base.dn(settings).to_lowercase();
        if checked.contains(&dn) {
            continue;
        }
        // "1.1": no attributes, only whether the entry is there and readable.
        let attributes = vec!["1.1".to_string()];
        let base_dn = base.dn(settings).to_string();
        let mut search = Search::start(
            &mut ldap,
            settings,
            base,
            &base_dn,
            Scope::Base,
            "(objectClass=*)",
            attributes,
        )
        .await?;
        if search.next_batch(settings, 1).await?.is_empty() {
            // Servers answer noSuchObject for a missing base; an entry hidden by access control
            // looks the same to the bind DN.
            return Err(invalid(
                base.field(),
                format!("the bind DN cannot see {base_dn:?}"),
            ));
        }
        checked.push(dn);
    }
    Ok(())
}
