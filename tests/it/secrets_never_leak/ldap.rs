//! The leak test's round with an `ldap` integration.

use oblique::pb;
use tonic::Code;

use super::SENTINEL;
use super::calls::{Seen, finished, sync_then_delete, update};
use crate::harness::Clients;
use crate::harness::slapd::Directory;

/// The same for an `ldap` integration, whose bind password is a sentinel too: a wrong one
/// refused, creation and its sync, new credentials, deletion.
pub(super) async fn ldap_round(admin: &Clients, seen: &mut Seen) {
    let directory = Directory::new().await;
    let (password, rotated) = (format!("{SENTINEL}-ldap-1"), format!("{SENTINEL}-ldap-2"));
    directory
        .ldif(&format!(
            "dn: cn=leak,{{base}}\nobjectClass: person\ncn: leak\nsn: leak\nuserPassword: {password}\n\n\
             dn: uid=ann,ou=people,{{base}}\nobjectClass: inetOrgPerson\nuid: ann\ncn: Ann\nsn: A\n"
        ))
        .await;
    let bind_dn = format!("cn=leak,{}", directory.base);
    let config = directory.starttls_config(&[("bind_dn", &bind_dn)]);
    let request = |password: &str| pb::CreateIntegrationRequest {
        r#type: "ldap".into(),
        name: format!("leak-ldap-{}", uuid::Uuid::new_v4().simple()),
        config: config.clone(),
        credentials: [("bind_password".to_string(), password.to_string())].into(),
        ..Default::default()
    };
    let mut integrations = admin.integrations.clone();
    let wrong = integrations
        .create_integration(request(&format!("{SENTINEL}-wrong")))
        .await;
    seen.refused("ldap create, wrong password", wrong, Code::InvalidArgument);
    let created = integrations.create_integration(request(&password)).await;
    let created = seen.ok("ldap create", created);
    let run = created.last_sync_run.clone().expect("initial run");
    finished(admin, seen, &run.id, pb::SyncRunState::Succeeded).await;
    directory
        .ldif(&format!(
            "dn: cn=leak,{{base}}\nchangetype: modify\nreplace: userPassword\nuserPassword: {rotated}\n"
        ))
        .await;
    let updated = update(admin, &created, None, ("bind_password", &rotated)).await;
    seen.ok("ldap update credentials", updated);
    sync_then_delete(admin, seen, &created, "ldap").await;
}
