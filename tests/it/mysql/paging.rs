//! Listings page by key: a server with more accounts and grants than a page holds is synced
//! whole.

use std::fmt::Write;

use super::MysqlService;
use crate::harness::TestApp;
use oblique::pb;

use crate::harness::calls::{memberships, synced};

/// More than a page (5,000 rows) of accounts and of grants.
const USERS: usize = 5_234;

#[tokio::test]
async fn accounts_and_grants_past_a_page_are_all_synced() {
    let app = TestApp::spawn().await;
    let service = MysqlService::start().await;
    service.role("everyone").await;
    let mut sql = String::new();
    for n in 0..USERS {
        // Two hosts per name for some: the key is (name, host), not the name alone.
        let host = if n % 10 == 0 { "10.%" } else { "%" };
        write!(
            sql,
            "CREATE USER 'user{n:05}'@'{host}'; GRANT everyone TO 'user{n:05}'@'{host}';"
        )
        .unwrap();
        if n % 10 == 0 {
            write!(sql, "CREATE USER 'user{n:05}'@'%';").unwrap();
        }
    }
    service.sql(&sql).await;

    let (integration, run) = synced(&app, service.create_request("big")).await;
    let stats = run.stats.unwrap();
    let expected_accounts = USERS + USERS.div_ceil(10);
    assert_eq!(stats.accounts.unwrap().created as usize, expected_accounts);
    assert_eq!(stats.access.unwrap().created as usize, USERS);
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = app
            .viewer
            .integrations
            .clone()
            .list_accounts(pb::ListAccountsRequest {
                integration_id: integration.id.clone(),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        ids.extend(page.accounts.into_iter().map(|a| a.external_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected_accounts, "every account once");
    assert!(
        ids.contains(&"'user00010'@'10.%'".to_string()),
        "{:?}",
        &ids[..3]
    );
    assert_eq!(memberships(&app, &integration).await.len(), USERS);
}
