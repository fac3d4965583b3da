//! Setting up an `ldap` integration: a wrong password, base, group base, TLS mode or server is
//! refused with nothing saved, and the right setup is accepted.

use tonic::Code;

use crate::harness::calls::integration_count;
use crate::harness::slapd::Directory;
use crate::harness::{TestApp, expect_code, refused_naming};

#[tokio::test]
async fn a_wrong_password_base_or_server_is_refused_and_nothing_is_saved() {
    let app = TestApp::spawn_without_sync().await;
    let directory = Directory::new().await;
    let mut client = app.admin.integrations.clone();

    let mut wrong_password = directory.create_request("wrong password");
    wrong_password
        .credentials
        .insert("bind_password".into(), "not-the-Password-1".into());
    let status = refused_naming(&mut client, wrong_password, "credentials.bind_password").await;
    assert!(!status.message().contains("not-the-Password-1"));

    let mut wrong_base = directory.create_request("wrong base");
    let missing = format!("ou=missing,{}", directory.base);
    wrong_base.config.insert("base_dn".into(), missing);
    refused_naming(&mut client, wrong_base, "config.base_dn").await;

    let mut wrong_group_base = directory.create_request("wrong group base");
    let missing = format!("ou=teams,{}", directory.base);
    wrong_group_base.config.insert("group_base".into(), missing);
    refused_naming(&mut client, wrong_group_base, "config.group_base").await;

    // StartTLS without ca_cert: the machine's root CAs do not know the test CA. An ldaps://
    // client on the plain port gets no handshake.
    let mut starttls = directory.create_request("starttls");
    starttls.config.insert("starttls".into(), "true".into());
    refused_naming(&mut client, starttls, "config.ca_cert").await;
    let mut ldaps = directory.create_request("ldaps");
    let url = directory.config(&[])["url"].replace("ldap://", "ldaps://");
    ldaps.config.insert("url".into(), url);
    let status = expect_code(
        client.create_integration(ldaps).await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("config.url:"), "{status:?}");

    let unused_port = oblique_testkit::free_port();
    let mut nowhere = directory.create_request("nowhere");
    let url = format!("ldap://127.0.0.1:{unused_port}");
    nowhere.config.insert("url".into(), url);
    let status = expect_code(client.create_integration(nowhere).await, Code::Unavailable);
    assert!(status.message().contains("cannot reach"), "{status:?}");

    assert_eq!(integration_count(&app).await, 0, "nothing saved");

    // The same directory with the right setup is accepted.
    client
        .create_integration(directory.create_request("right"))
        .await
        .expect("a valid setup");
}
