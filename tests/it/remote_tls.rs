//! TLS to a `postgres` integration's cluster: verify-full against the setup's CA by default, each
//! weaker sslmode accepted with a warning in the response, and a certificate that fails the check
//! refused naming the field to fix. The remote cluster admits the integration's role over TLS
//! only (see `harness::remote`).

use oblique::pb;
use tonic::Code;

use crate::harness::pki::TestCa;
use crate::harness::{TestApp, create_request, expect_code};

/// Creates `request` and expects it refused as INVALID_ARGUMENT on `field`, with `contains` in
/// the message.
async fn refused(
    app: &TestApp,
    request: pb::CreateIntegrationRequest,
    field: &str,
    contains: &str,
) {
    let status = expect_code(
        app.admin
            .integrations
            .clone()
            .create_integration(request)
            .await,
        Code::InvalidArgument,
    );
    let message = status.message();
    assert!(
        message.starts_with(&format!("{field}:")),
        "{field}: {message}"
    );
    assert!(message.contains(contains), "{contains:?} not in {message}");
}

async fn created(app: &TestApp, request: pb::CreateIntegrationRequest) -> pb::Integration {
    app.admin
        .integrations
        .clone()
        .create_integration(request)
        .await
        .expect("a valid setup")
        .into_inner()
}

#[tokio::test]
async fn the_default_setup_verifies_the_server_against_ca_cert_and_warns_of_nothing() {
    let app = TestApp::spawn_without_sync().await;
    let request = create_request("verified").await;
    assert!(!request.config.contains_key("sslmode"));
    let integration = created(&app, request).await;
    assert_eq!(integration.config["sslmode"], "verify-full");
    assert!(
        integration.warnings.is_empty(),
        "{:?}",
        integration.warnings
    );
}

#[tokio::test]
async fn a_certificate_the_setup_does_not_trust_is_refused_naming_ca_cert() {
    let app = TestApp::spawn_without_sync().await;
    let other_ca = TestCa::new("unrelated CA");
    for sslmode in ["verify-full", "verify-ca", "require"] {
        let mut request = create_request(&format!("other CA {sslmode}")).await;
        request.config.insert("sslmode".into(), sslmode.into());
        request.config.insert("ca_cert".into(), other_ca.pem());
        refused(
            &app,
            request,
            "config.ca_cert",
            "not signed by config.ca_cert",
        )
        .await;
    }
    // Without ca_cert, the machine's root CAs decide: they do not know the test CA.
    for sslmode in ["verify-full", "verify-ca"] {
        let mut request = create_request(&format!("system roots {sslmode}")).await;
        request.config.insert("sslmode".into(), sslmode.into());
        request.config.remove("ca_cert");
        refused(&app, request, "config.ca_cert", "set config.ca_cert").await;
    }
    let mut request = create_request("not PEM").await;
    request.config.insert(
        "ca_cert".into(),
        "-----BEGIN CERTIFICATE-----\nnope\n".into(),
    );
    refused(&app, request, "config.ca_cert", "PEM").await;
}

#[tokio::test]
async fn weaker_sslmodes_work_and_the_response_warns_of_them() {
    let app = TestApp::spawn_without_sync().await;
    let mut verify_ca = create_request("verify-ca").await;
    verify_ca
        .config
        .insert("sslmode".into(), "verify-ca".into());
    let integration = created(&app, verify_ca).await;
    assert!(
        integration.warnings.len() == 1 && integration.warnings[0].starts_with("sslmode verify-ca"),
        "{:?}",
        integration.warnings
    );

    let mut require = create_request("require").await;
    require.config.insert("sslmode".into(), "require".into());
    require.config.remove("ca_cert");
    let integration = created(&app, require).await;
    assert!(
        integration.warnings.len() == 1
            && integration.warnings[0].starts_with(
                "sslmode require without ca_cert: the server's certificate is not verified"
            ),
        "{:?}",
        integration.warnings
    );
    // The warning is derived from the stored setup: every read shows it.
    let read = app
        .admin
        .integrations
        .clone()
        .get_integration(pb::GetIntegrationRequest {
            id: integration.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.warnings, integration.warnings);
}

#[tokio::test]
async fn sslmode_disable_is_refused_by_a_remote_that_admits_only_tls() {
    let app = TestApp::spawn_without_sync().await;
    let mut request = create_request("disable").await;
    request.config.insert("sslmode".into(), "disable".into());
    request.config.remove("ca_cert");
    refused(&app, request, "config.sslmode", "no encryption").await;
    // The remote really does serve this role over TLS: the default setup is accepted.
    created(&app, create_request("verified").await).await;
}

#[tokio::test]
async fn integration_types_describe_the_tls_fields_and_their_defaults() {
    let app = TestApp::spawn_without_sync().await;
    let types = app
        .viewer
        .integrations
        .clone()
        .list_integration_types(pb::ListIntegrationTypesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .types;
    let field = |kind: &str, name: &str| {
        types
            .iter()
            .find(|t| t.name == kind)
            .and_then(|t| t.setup_fields.iter().find(|f| f.name == name))
            .cloned()
            .unwrap_or_else(|| panic!("{kind} has no setup field {name}"))
    };
    let sslmode = field("postgres", "sslmode");
    assert_eq!(sslmode.default, "verify-full");
    assert!(sslmode.description.contains("verify-ca"), "{sslmode:?}");
    for (kind, name, default) in [
        ("postgres", "ca_cert", ""),
        ("ldap", "ca_cert", ""),
        ("ldap", "allow_plaintext", "false"),
    ] {
        let field = field(kind, name);
        assert_eq!(field.default, default, "{kind}.{name}");
        assert!(!field.secret && !field.required, "{kind}.{name}");
        assert!(!field.description.is_empty(), "{kind}.{name}");
    }
}
