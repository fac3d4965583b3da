//! The console's long lists page: 500 integrations or 1,000 resources a page, a "Next page"
//! link to the rest and a "First page" link back, every row on exactly one page; a page start
//! that is no id is refused naming `after`.

use diesel_async::RunQueryDsl;
use oblique::auth::Role;
use reqwest::StatusCode;

use super::serve_console;
use super::visitor::Visitor;
use crate::harness::TestApp;

/// Rows made straight in the database: the pages only read them, and a sync of 501
/// integrations would only slow the test down.
async fn insert(app: &TestApp, sql: &str) {
    let mut conn = app.owner_conn().await;
    diesel::sql_query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

/// The names in a page's table rows (each row's first cell).
fn names(body: &str) -> Vec<String> {
    body.split(r#"<td data-label="Name">"#)
        .skip(1)
        .map(|cell| {
            let text = cell.split("</a>").next().expect("a link");
            text.rsplit('>')
                .next()
                .expect("the link's text")
                .to_string()
        })
        .collect()
}

/// The "Next page" link's address, when the page has one.
fn next_link(body: &str) -> Option<String> {
    let link = body
        .split("<a ")
        .find(|link| link.contains(r#"rel="next""#))?;
    let start = link.find(r#"href=""#)? + r#"href=""#.len();
    Some(link[start..].split('"').next()?.replace("&amp;", "&"))
}

/// Follows "Next page" from `first`; every page's names, in order.
async fn every_page(visitor: &Visitor, first: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut address = Some(first.to_string());
    while let Some(at) = address {
        let page = visitor.get(&at).await;
        assert_eq!(page.status, StatusCode::OK, "{at}: {}", page.body);
        if !pages.is_empty() {
            assert!(page.body.contains("First page"), "{at}: {}", page.body);
        }
        pages.push(names(&page.body));
        address = next_link(&page.body);
        assert!(pages.len() <= 3, "pages never end: {at}");
    }
    pages
}

fn assert_each_once(pages: &[Vec<String>], expected: usize) {
    let mut all: Vec<&String> = pages.iter().flatten().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), expected, "each row on exactly one page");
    assert_eq!(pages.iter().map(Vec::len).sum::<usize>(), expected);
}

#[tokio::test]
async fn past_500_integrations_and_1000_resources_the_lists_page() {
    let app = TestApp::spawn_without_sync().await;
    let base = serve_console(&app, false).await;
    let token = app.issue_token("paging-viewer", Role::Viewer).await;
    let id = uuid::Uuid::now_v7();
    insert(
        &app,
        &format!(
            "INSERT INTO integrations
                 (id, integration_type, name, link_users_by, access_key_secret)
             SELECT CASE WHEN g = 1 THEN '{id}'::uuid ELSE gen_random_uuid() END, 'postgres',
                    'paged-' || lpad(g::text, 4, '0'), 'email',
                    decode(md5(g::text) || md5(g::text || 'x') || md5(g::text || 'y') || md5(g::text || 'z'), 'hex')
             FROM generate_series(1, 501) g"
        ),
    )
    .await;
    insert(
        &app,
        &format!(
            "INSERT INTO resources (id, integration_id, external_id, resource_type, name)
             SELECT gen_random_uuid(), '{id}', 'r' || g, 'role', 'role-' || lpad(g::text, 4, '0')
             FROM generate_series(1, 1001) g"
        ),
    )
    .await;
    let mut visitor = Visitor::new(&base);
    visitor.sign_in(&token).await;

    let integrations = every_page(&visitor, "/integrations").await;
    let sizes: Vec<usize> = integrations.iter().map(Vec::len).collect();
    assert_eq!(sizes, [500, 1]);
    assert_each_once(&integrations, 501);

    let home = visitor.get("/").await;
    assert_eq!(
        names(&home.body).len(),
        500,
        "the home page is the list's first page"
    );
    assert!(next_link(&home.body).is_some());

    let resources = every_page(&visitor, &format!("/integrations/{id}/resources")).await;
    let sizes: Vec<usize> = resources.iter().map(Vec::len).collect();
    assert_eq!(sizes, [1000, 1]);
    assert_each_once(&resources, 1001);

    let refused = visitor.get("/integrations?after=x'%20OR%201=1").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("after"), "{}", refused.body);
}
