//! Setting up a `scim` integration: a wrong token, filter, URL or service is refused with
//! nothing saved; the right setup is accepted and its plaintext warned about; the type is
//! described by ListIntegrationTypes.

use oblique::pb;
use tonic::Code;

use crate::harness::calls::integration_count;
use crate::harness::scim::ScimService;
use crate::harness::{TestApp, expect_code, refused_naming};

#[tokio::test]
async fn a_wrong_token_filter_or_service_is_refused_and_nothing_is_saved() {
    let app = TestApp::spawn_without_sync().await;
    let service = ScimService::start().await;
    let mut client = app.admin.integrations.clone();

    let mut wrong_token = service.create_request("wrong token");
    wrong_token
        .credentials
        .insert("bearer_token".into(), "not-the-Token-1".into());
    let status = refused_naming(&mut client, wrong_token, "credentials.bearer_token").await;
    assert!(!status.message().contains("not-the-Token-1"));

    let mut bad_filter = service.create_request("bad filter");
    bad_filter
        .config
        .insert("user_filter".into(), "userName eq".into());
    let status = refused_naming(&mut client, bad_filter, "config.user_filter").await;
    assert!(status.message().contains("invalidFilter"), "{status:?}");

    let mut bad_group_filter = service.create_request("bad group filter");
    bad_group_filter
        .config
        .insert("group_filter".into(), "displayName zz \"x\"".into());
    refused_naming(&mut client, bad_group_filter, "config.group_filter").await;

    let mut plaintext = service.create_request("plaintext");
    plaintext.config.remove("allow_plaintext");
    refused_naming(&mut client, plaintext, "config.base_url").await;

    let mut elsewhere = service.create_request("not the scim path");
    let url = format!("{}/not/scim", service.base_url());
    elsewhere.config.insert("base_url".into(), url);
    refused_naming(&mut client, elsewhere, "config.base_url").await;

    let unused_port = oblique_testkit::free_port();
    let mut nowhere = service.create_request("nowhere");
    let url = format!("http://127.0.0.1:{unused_port}/scim/v2");
    nowhere.config.insert("base_url".into(), url);
    let status = expect_code(client.create_integration(nowhere).await, Code::Unavailable);
    assert!(status.message().contains("cannot reach"), "{status:?}");

    assert_eq!(integration_count(&app).await, 0, "nothing saved");

    // The same service with the right setup is accepted, and its plaintext warned about.
    let created = client
        .create_integration(service.create_request("right"))
        .await
        .expect("a valid setup")
        .into_inner();
    assert_eq!(created.r#type, "scim");
    assert_eq!(created.link_users_by, "email");
    assert!(
        created
            .warnings
            .iter()
            .any(|w| w.contains("allow_plaintext")),
        "{:?}",
        created.warnings
    );
    assert_eq!(created.config["page_size"], "100", "{:?}", created.config);
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
    let scim = types.iter().find(|t| t.name == "scim").expect("scim");
    assert_eq!(scim.display_name, "SCIM 2.0");
    assert_eq!(scim.default_link_users_by, "email");
    let capabilities = scim.capabilities.unwrap();
    assert!(capabilities.can_push && capabilities.can_create_resources);
    let field = |name: &str| {
        scim.setup_fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no field {name}"))
    };
    for (name, default, secret) in [
        ("base_url", "", false),
        ("auth", "bearer", false),
        ("username", "", false),
        ("page_size", "100", false),
        ("user_filter", "", false),
        ("group_filter", "", false),
        ("timeout", "30", false),
        ("allow_plaintext", "false", false),
        ("bearer_token", "", true),
        ("password", "", true),
    ] {
        let field = field(name);
        assert_eq!(
            (field.default.as_str(), field.secret),
            (default, secret),
            "{name}"
        );
        assert!(!field.description.is_empty(), "{name}");
    }
    assert!(field("base_url").required);
}
