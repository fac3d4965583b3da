//! Paging: a sync brings every user of a directory larger than the server's size limit.

use oblique::pb;

use crate::harness::TestApp;
use crate::harness::calls::synced;
use crate::harness::slapd::{BIND_DN, BIND_PASSWORD, Directory, SIZE_LIMIT};

#[tokio::test]
async fn paging_brings_every_user_past_the_server_size_limit() {
    const USERS: usize = 1_250;
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.add_users("p", USERS).await;
    let mut members = String::new();
    for n in 0..USERS {
        members.push_str(&format!("member: uid=p{n},ou=people,{{base}}\n"));
    }
    directory
        .ldif(&format!(
            "dn: cn=everyone,ou=groups,{{base}}\nobjectClass: groupOfNames\ncn: everyone\n{members}"
        ))
        .await;
    // The limit is real: without paging the bind DN gets SIZE_LIMIT entries and an error.
    let plain = std::process::Command::new("ldapsearch")
        .args([
            "-x",
            "-LLL",
            "-H",
            &directory.config(&[])["url"],
            "-D",
            BIND_DN,
        ])
        .args([
            "-w",
            BIND_PASSWORD,
            "-b",
            &directory.people(),
            "(uid=*)",
            "1.1",
        ])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(4), "sizeLimitExceeded");
    let dns = String::from_utf8_lossy(&plain.stdout)
        .matches("dn: ")
        .count();
    assert_eq!(dns, SIZE_LIMIT);

    let (integration, run) = synced(&app, directory.create_request("big")).await;
    let stats = run.stats.unwrap();
    assert_eq!(stats.accounts.unwrap().created, USERS as i64);
    assert_eq!(stats.access.unwrap().created, USERS as i64);
    let fetched = app
        .viewer
        .integrations
        .clone()
        .get_integration(pb::GetIntegrationRequest {
            id: integration.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched.account_count, USERS as i64);
}
