//! Paging: a sync brings every user, group and member of a service larger than `page_size`, one
//! request (and one page in memory) at a time.

use futures::TryStreamExt;
use oblique::connectors::Listed;

use crate::harness::calls::synced;
use crate::harness::scim::ScimService;
use crate::harness::{TestApp, get_integration};

const USERS: usize = 250;
const GROUPS: usize = 120;

#[tokio::test]
async fn paging_brings_every_user_group_and_member_past_page_size() {
    let app = TestApp::spawn().await;
    let service = ScimService::start().await;
    let admin = &service.admin;
    let ids = admin.create_users("p", USERS).await.unwrap();
    let everyone: Vec<&str> = ids.iter().map(String::as_str).collect();
    admin.create_group("everyone", &everyone).await.unwrap();
    for (n, id) in ids.iter().enumerate().take(GROUPS).skip(1) {
        admin.create_group(&format!("g{n}"), &[id]).await.unwrap();
    }

    // The service keeps to count: pages of 100, 100 and 50 users.
    let connector = service.connector(&[("page_size", "100")]);
    let pages: Vec<Vec<Listed<_>>> = connector.list_accounts().try_collect().await.unwrap();
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [100, 100, 50]);

    let mut request = service.create_request("big");
    request.config.insert("page_size".into(), "100".into());
    let (integration, run) = synced(&app, request).await;
    let stats = run.stats.unwrap();
    assert_eq!(stats.accounts.unwrap().created, USERS as i64);
    assert_eq!(stats.resources.unwrap().created, GROUPS as i64);
    assert_eq!(
        stats.access.unwrap().created,
        (USERS + GROUPS - 1) as i64,
        "everyone's members and one in each other group"
    );
    assert_eq!(stats.errors, 0);
    let fetched = get_integration(&app.viewer, &integration.id).await;
    assert_eq!(
        (fetched.resource_count, fetched.account_count),
        (GROUPS as i64, USERS as i64)
    );
}
