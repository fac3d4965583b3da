//! Credentials read from a request never show in `{:?}`: not in the domain values the api layer
//! builds, nor in the setup and the connector settings made from them.

use std::collections::HashMap;
use std::time::Duration;

use super::integration_input::{integration_update, new_integration_input};
use crate::connectors::IntegrationKind;
use crate::connectors::ldap::LdapSettings;
use crate::connectors::postgres::PostgresSettings;
use crate::connectors::scim::ScimSettings;
use crate::pb;

const SENTINEL: &str = "s3ntinel-Cred-5e1f";

fn pairs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn assert_hidden(what: &str, debug: String) {
    assert!(!debug.contains(SENTINEL), "{what} shows a secret: {debug}");
}

#[test]
fn a_create_request_s_credentials_stay_hidden_down_to_the_connector_settings() {
    let postgres = new_integration_input(pb::CreateIntegrationRequest {
        r#type: "postgres".into(),
        name: "db".into(),
        config: pairs(&[("host", "db.example"), ("username", "oblique")]),
        credentials: pairs(&[("password", SENTINEL)]),
        ..Default::default()
    })
    .unwrap();
    assert_hidden("NewIntegrationInput", format!("{postgres:?}"));
    assert_hidden("Setup", format!("{:?}", postgres.setup));
    let settings = PostgresSettings::from_setup(&postgres.setup, Duration::from_secs(1)).unwrap();
    assert_hidden("PostgresSettings", format!("{settings:?}"));

    let ldap = new_integration_input(pb::CreateIntegrationRequest {
        r#type: "ldap".into(),
        name: "directory".into(),
        config: pairs(&[
            ("url", "ldaps://ldap.example"),
            ("bind_dn", "cn=oblique,dc=example"),
            ("base_dn", "dc=example"),
        ]),
        credentials: pairs(&[("bind_password", SENTINEL)]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(ldap.kind, IntegrationKind::Ldap);
    assert_hidden("NewIntegrationInput", format!("{ldap:?}"));
    let settings = LdapSettings::from_setup(&ldap.setup).unwrap();
    assert_hidden("LdapSettings", format!("{settings:?}"));

    for (config, credential) in [
        (vec![], "bearer_token"),
        (vec![("auth", "basic"), ("username", "oblique")], "password"),
    ] {
        let mut config = config;
        config.push(("base_url", "https://idp.example/scim/v2"));
        let scim = new_integration_input(pb::CreateIntegrationRequest {
            r#type: "scim".into(),
            name: format!("idp {credential}"),
            config: pairs(&config),
            credentials: pairs(&[(credential, SENTINEL)]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(scim.kind, IntegrationKind::Scim);
        assert_hidden("NewIntegrationInput", format!("{scim:?}"));
        let settings = ScimSettings::from_setup(&scim.setup).unwrap();
        assert_hidden("ScimSettings", format!("{settings:?}"));
        let connector = crate::connectors::scim::ScimConnector::new(settings).unwrap();
        assert_hidden("ScimConnector", format!("{connector:?}"));
    }
}

#[test]
fn an_update_request_s_credentials_stay_hidden() {
    let (_, update) = integration_update(pb::UpdateIntegrationRequest {
        integration: Some(pb::Integration {
            id: uuid::Uuid::now_v7().to_string(),
            credentials: pairs(&[("password", SENTINEL)]),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["credentials".into()],
        }),
    })
    .unwrap();
    let debug = format!("{update:?}");
    assert_hidden("IntegrationUpdate", debug.clone());
    // The keys are no secret, and show which credentials change.
    assert!(debug.contains("password"), "{debug}");
}
