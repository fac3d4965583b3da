//! TLS to an `ldap` integration's directory: ldaps:// and StartTLS verified against the setup's
//! ca_cert, a server signed by another CA refused, and plain ldap:// refused unless the caller
//! sets allow_plaintext, which the response then warns about.

use std::collections::HashMap;

use oblique::pb;
use tonic::Code;

use crate::harness::pki::TestCa;
use crate::harness::slapd::Directory;
use crate::harness::{TestApp, expect_code};

fn request(
    directory: &Directory,
    name: &str,
    config: HashMap<String, String>,
) -> pb::CreateIntegrationRequest {
    pb::CreateIntegrationRequest {
        config,
        ..directory.create_request(name)
    }
}

#[tokio::test]
async fn ldaps_and_starttls_verified_against_ca_cert_are_accepted_without_warnings() {
    let app = TestApp::spawn_without_sync().await;
    let directory = Directory::new().await;
    directory.add_users("tls", 3).await;
    let mut client = app.admin.integrations.clone();
    for (name, config) in [
        ("ldaps", directory.ldaps_config(&[])),
        ("starttls", directory.starttls_config(&[])),
    ] {
        let integration = client
            .create_integration(request(&directory, name, config))
            .await
            .unwrap_or_else(|status| panic!("{name}: {status:?}"))
            .into_inner();
        assert!(
            integration.warnings.is_empty(),
            "{name}: {:?}",
            integration.warnings
        );
        assert_eq!(integration.config["allow_plaintext"], "false");
    }
    // The connector reads the directory over each, too.
    for config in [directory.ldaps_config(&[]), directory.starttls_config(&[])] {
        let setup = oblique::connectors::Setup::check(
            oblique::connectors::IntegrationKind::Ldap.setup_fields(),
            config.into_iter().collect(),
            directory.credentials().into_iter().collect(),
        )
        .unwrap();
        let connector = oblique::connectors::IntegrationKind::Ldap
            .connector(&setup)
            .unwrap();
        use futures::TryStreamExt;
        let pages: Vec<_> = connector.list_accounts().try_collect().await.unwrap();
        assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), 3);
    }
}

#[tokio::test]
async fn a_server_signed_by_another_ca_is_refused_naming_ca_cert() {
    let app = TestApp::spawn_without_sync().await;
    let directory = Directory::new().await;
    let mut client = app.admin.integrations.clone();
    let other = TestCa::new("unrelated CA").pem();
    for (name, config) in [
        ("ldaps", directory.ldaps_config(&[("ca_cert", &other)])),
        (
            "starttls",
            directory.starttls_config(&[("ca_cert", &other)]),
        ),
    ] {
        let status = expect_code(
            client
                .create_integration(request(&directory, name, config))
                .await,
            Code::InvalidArgument,
        );
        assert!(
            status.message().starts_with("config.ca_cert:")
                && status.message().contains("not signed by config.ca_cert"),
            "{name}: {status:?}"
        );
    }
    // Without ca_cert, the machine's root CAs decide: they do not know the test CA.
    let mut system_roots = directory.ldaps_config(&[]);
    system_roots.remove("ca_cert");
    let status = expect_code(
        client
            .create_integration(request(&directory, "system roots", system_roots))
            .await,
        Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with("config.ca_cert:"),
        "{status:?}"
    );
}

#[tokio::test]
async fn plain_ldap_is_refused_unless_allow_plaintext_is_set_and_then_warned_about() {
    let app = TestApp::spawn_without_sync().await;
    let directory = Directory::new().await;
    let mut client = app.admin.integrations.clone();

    let mut plain = directory.config(&[]);
    plain.remove("allow_plaintext");
    let status = expect_code(
        client
            .create_integration(request(&directory, "plain", plain))
            .await,
        Code::InvalidArgument,
    );
    let message = status.message();
    assert!(message.starts_with("config.url:"), "{status:?}");
    for fix in ["ldaps://", "starttls", "allow_plaintext"] {
        assert!(message.contains(fix), "{fix} not in {message}");
    }

    let integration = client
        .create_integration(directory.create_request("plaintext allowed"))
        .await
        .expect("allow_plaintext: true")
        .into_inner();
    assert_eq!(
        integration.warnings,
        ["allow_plaintext is set: the bind password and all entries cross the network unencrypted"]
    );
}
