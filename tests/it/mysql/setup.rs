//! Setting up a `mysql` integration: a wrong password, a user without the privileges a sync
//! needs, an unreachable server or TLS the server cannot give are refused with nothing saved;
//! `verify_identity` (the default) checks the certificate against `ca_cert` and the host; a
//! change of where or how the password travels needs it again; the type is described by
//! ListIntegrationTypes.

use oblique::pb;
use tonic::Code;

use super::{MysqlService, PASSWORD};
use crate::harness::calls::integration_count;
use crate::harness::{TestApp, expect_code, refused_naming};

#[tokio::test]
async fn a_wrong_password_privilege_or_server_is_refused_and_nothing_is_saved() {
    let app = TestApp::spawn_without_sync().await;
    let service = MysqlService::start().await;
    let mut client = app.admin.integrations.clone();

    let mut wrong_password = service.create_request("wrong password");
    wrong_password
        .credentials
        .insert("password".into(), "not-the-Pw-1".into());
    let status = refused_naming(&mut client, wrong_password, "credentials.password").await;
    assert!(!status.message().contains("not-the-Pw-1"), "{status:?}");

    // A user that may log in but not read the grant tables.
    service
        .sql(&format!(
            "CREATE USER 'reader'@'%' IDENTIFIED BY '{PASSWORD}'"
        ))
        .await;
    let mut unprivileged = service.create_request("unprivileged");
    unprivileged
        .config
        .insert("username".into(), "reader".into());
    let status = refused_naming(&mut client, unprivileged, "config.username").await;
    assert!(
        status.message().contains("SELECT on mysql.global_priv"),
        "{status:?}"
    );

    let mut unknown_user = service.create_request("unknown user");
    unknown_user
        .config
        .insert("username".into(), "nobody".into());
    refused_naming(&mut client, unknown_user, "credentials.password").await;

    // This server has no certificate: TLS that is required cannot be had.
    let mut required = service.create_request("tls required");
    required.config.insert("tls".into(), "required".into());
    let status = refused_naming(&mut client, required, "config.tls").await;
    assert!(status.message().contains("does not offer"), "{status:?}");

    let unused_port = oblique_testkit::free_port();
    let mut nowhere = service.create_request("nowhere");
    nowhere
        .config
        .insert("port".into(), unused_port.to_string());
    let status = expect_code(client.create_integration(nowhere).await, Code::Unavailable);
    assert!(status.message().contains("cannot reach"), "{status:?}");

    assert_eq!(integration_count(&app).await, 0, "nothing saved");

    // `preferred` falls back to no TLS here, and is warned about; so is `disabled`.
    let mut preferred = service.create_request("preferred");
    preferred.config.insert("tls".into(), "preferred".into());
    let created = client
        .create_integration(preferred)
        .await
        .expect("tls preferred without TLS")
        .into_inner();
    assert!(
        created.warnings.iter().any(|w| w.contains("falls back")),
        "{:?}",
        created.warnings
    );
    let created = client
        .create_integration(service.create_request("right"))
        .await
        .expect("a valid setup")
        .into_inner();
    assert_eq!(created.r#type, "mysql");
    assert_eq!(created.link_users_by, "username");
    assert!(
        created.warnings.iter().any(|w| w.contains("tls disabled")),
        "{:?}",
        created.warnings
    );
}

#[tokio::test]
async fn verify_identity_checks_the_certificate_against_ca_cert_and_the_host() {
    let app = TestApp::spawn_without_sync().await;
    let service = MysqlService::start_tls().await;
    // Oblique's user may log in over TLS only: a setup accepted below really used TLS.
    service.sql("ALTER USER 'oblique'@'%' REQUIRE SSL").await;
    let mut client = app.admin.integrations.clone();

    // The default mode, trusting the test CA.
    let request = service.create_request("verified");
    assert!(
        !request.config.contains_key("tls"),
        "tls left to its default"
    );
    let created = client
        .create_integration(request)
        .await
        .expect("verify_identity with the server's CA")
        .into_inner();
    assert_eq!(created.config["tls"], "verify_identity");
    assert!(created.warnings.is_empty(), "{:?}", created.warnings);

    let other_ca = oblique_testkit::pki::TestCa::new("another CA");
    let mut wrong_ca = service.create_request("wrong CA");
    wrong_ca.config.insert("ca_cert".into(), other_ca.pem());
    let status = refused_naming(&mut client, wrong_ca, "config.ca_cert").await;
    assert!(status.message().contains("not signed by"), "{status:?}");

    let mut machine_roots = service.create_request("machine roots");
    machine_roots.config.remove("ca_cert");
    refused_naming(&mut client, machine_roots, "config.ca_cert").await;

    // The certificate names 127.0.0.1, not localhost.
    let mut other_name = service.create_request("other name");
    other_name.config.insert("host".into(), "localhost".into());
    let status = refused_naming(&mut client, other_name, "config.host").await;
    assert!(status.message().contains("does not name"), "{status:?}");

    // Without TLS the account is refused by the server itself.
    let mut plaintext = service.create_request("plaintext");
    plaintext.config.remove("ca_cert");
    plaintext.config.insert("tls".into(), "disabled".into());
    refused_naming(&mut client, plaintext, "credentials.password").await;

    // `required` encrypts without checking, and says so.
    let mut required = service.create_request("required");
    required.config.remove("ca_cert");
    required.config.insert("tls".into(), "required".into());
    let created = client
        .create_integration(required)
        .await
        .expect("tls required")
        .into_inner();
    assert!(
        created.warnings.iter().any(|w| w.contains("not verified")),
        "{:?}",
        created.warnings
    );
    assert_eq!(integration_count(&app).await, 2);
}

#[tokio::test]
async fn the_type_is_described_with_its_fields_and_capabilities() {
    let app = TestApp::spawn_without_sync().await;
    let types = app
        .viewer
        .integrations
        .clone()
        .list_integration_types(pb::ListIntegrationTypesRequest {})
        .await
        .unwrap()
        .into_inner()
        .types;
    let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["postgres", "ldap", "scim", "mysql"]);
    let mysql = types.iter().find(|t| t.name == "mysql").expect("mysql");
    assert_eq!(mysql.display_name, "MySQL / MariaDB");
    assert_eq!(mysql.default_link_users_by, "username");
    let capabilities = mysql.capabilities.unwrap();
    assert!(capabilities.can_push && capabilities.can_create_resources);
    let fields: Vec<(&str, &str, bool, bool)> = mysql
        .setup_fields
        .iter()
        .map(|f| (f.name.as_str(), f.default.as_str(), f.required, f.secret))
        .collect();
    assert_eq!(
        fields,
        [
            ("host", "", true, false),
            ("port", "3306", false, false),
            ("username", "", true, false),
            ("password", "", true, true),
            ("tls", "verify_identity", false, false),
            ("ca_cert", "", false, false),
            ("user_pattern", "", false, false),
        ]
    );
    assert!(mysql.setup_fields.iter().all(|f| !f.description.is_empty()));
}

#[tokio::test]
async fn a_new_endpoint_needs_the_password_again() {
    let app = TestApp::spawn_without_sync().await;
    let service = MysqlService::start().await;
    let mut client = app.admin.integrations.clone();
    let created = client
        .create_integration(service.create_request("moving"))
        .await
        .expect("create")
        .into_inner();
    let update = |key: &str, value: &str, credentials: bool| {
        let mut config = created.config.clone();
        config.insert(key.to_string(), value.to_string());
        let mut paths = vec!["config".to_string()];
        let mut integration = pb::Integration {
            id: created.id.clone(),
            config,
            ..Default::default()
        };
        if credentials {
            paths.push("credentials".into());
            integration.credentials = service.credentials();
        }
        pb::UpdateIntegrationRequest {
            integration: Some(integration),
            update_mask: Some(prost_types::FieldMask { paths }),
        }
    };
    for (key, value) in [
        ("host", "localhost"),
        ("port", "1"),
        ("username", "someone_else"),
        ("tls", "preferred"),
    ] {
        let status = expect_code(
            client.update_integration(update(key, value, false)).await,
            Code::InvalidArgument,
        );
        assert!(status.message().starts_with("credentials"), "{status:?}");
        assert!(status.message().contains(key), "{status:?}");
    }
    // A narrower pattern sends the password nowhere new: checked with the stored one.
    let narrowed = client
        .update_integration(update("user_pattern", "app%", false))
        .await
        .expect("a new user_pattern")
        .into_inner();
    assert_eq!(narrowed.config["user_pattern"], "app%");
    // With the password given again, the change is checked and saved.
    let moved = client
        .update_integration(update("tls", "preferred", true))
        .await
        .expect("a new tls mode with the password")
        .into_inner();
    assert_eq!(moved.config["tls"], "preferred");
}
