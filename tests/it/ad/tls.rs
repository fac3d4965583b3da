//! TLS to Active Directory: ldaps:// on 636 (the tests' default setup) and StartTLS on 389, both
//! verified against the DC's CA (`ca_cert`); a CA that did not sign the DC's certificate is
//! refused naming ca_cert; a wrong password is refused naming the credential.

use oblique::pb;
use tonic::Code;

use crate::harness::pki::TestCa;
use crate::harness::samba::Domain;
use crate::harness::{TestApp, expect_code};

#[tokio::test]
async fn ldaps_and_starttls_with_the_dcs_ca_are_accepted_and_another_ca_refused() {
    let app = TestApp::spawn_without_sync().await;
    let domain = Domain::new().await;
    let mut client = app.admin.integrations.clone();
    for (name, config) in [
        ("ldaps", domain.config(&[])),
        ("starttls", domain.starttls_config(&[])),
    ] {
        let integration = client
            .create_integration(pb::CreateIntegrationRequest {
                config,
                ..domain.create_request(name)
            })
            .await
            .unwrap_or_else(|status| panic!("{name}: {status:?}"))
            .into_inner();
        assert!(
            integration.warnings.is_empty(),
            "{name}: {:?}",
            integration.warnings
        );
        assert_eq!(integration.config["id_attribute"], "objectGUID", "{name}");
    }
    let other = TestCa::new("unrelated CA").pem();
    for config in [
        domain.config(&[("ca_cert", &other)]),
        domain.starttls_config(&[("ca_cert", &other)]),
    ] {
        let status = expect_code(
            client
                .create_integration(pb::CreateIntegrationRequest {
                    config,
                    ..domain.create_request("other ca")
                })
                .await,
            Code::InvalidArgument,
        );
        assert!(
            status.message().starts_with("config.ca_cert:"),
            "{status:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_is_invalid_naming_the_credential_without_quoting_it() {
    let app = TestApp::spawn_without_sync().await;
    let domain = Domain::new().await;
    let wrong = "Wr0ng!Passw0rd-ad";
    let status = expect_code(
        app.admin
            .integrations
            .clone()
            .create_integration(pb::CreateIntegrationRequest {
                credentials: [("bind_password".to_string(), wrong.to_string())].into(),
                ..domain.create_request("wrong password")
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("credentials.bind_password:"),
        "{status:?}"
    );
    assert!(!status.message().contains(wrong));
}
