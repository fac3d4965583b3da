//! Counting: objects listed twice, access naming unknown objects, attributes that change and
//! vanish.

use diesel_async::RunQueryDsl;
use oblique::engine::stage::StagedPage;

use super::{account, group, integration, member, merge};
use crate::harness::TestApp;

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Shell {
    #[diesel(sql_type = diesel::sql_types::Text)]
    username: String,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    attribute_values: Vec<String>,
}

impl Shell {
    fn new(username: &str, value: &str) -> Self {
        Shell {
            username: username.into(),
            attribute_values: vec![value.into()],
        }
    }
}

#[tokio::test]
async fn duplicates_unknown_members_and_attribute_changes_are_counted_once() {
    let app = TestApp::spawn_without_sync().await;
    let integration_id = integration(&app, "merged").await;

    let alice = account("alice", &[("shell", &["bash"]), ("groups", &["a", "b"])]);
    let first = merge(
        &app,
        integration_id,
        vec![
            StagedPage::Accounts(vec![alice.clone(), account("bob", &[])]),
            // alice listed twice, as a directory changing under a paged search can.
            StagedPage::Accounts(vec![alice]),
            StagedPage::Resources(vec![group("admins")]),
            StagedPage::Access(vec![
                member("admins", "alice"),
                member("admins", "alice"),
                member("admins", "carol"),
                member("admins", "carol"),
                member("ghosts", "bob"),
            ]),
        ],
    )
    .await;
    let stats = first.stats;
    assert_eq!((stats.accounts.created, stats.accounts.unchanged), (2, 0));
    assert_eq!(
        (stats.attributes.created, stats.attributes.unchanged),
        (2, 0)
    );
    assert_eq!((stats.access.created, stats.access.unchanged), (1, 0));
    assert_eq!(
        first.unresolved_access, 2,
        "carol and ghosts, each counted once"
    );

    // alice's shell changes, her groups attribute vanishes, bob gains one; bob joins admins.
    let second = merge(
        &app,
        integration_id,
        vec![
            StagedPage::Accounts(vec![
                account("alice", &[("shell", &["zsh"])]),
                // A name given twice: the first values count, once.
                account("bob", &[("shell", &["sh"]), ("shell", &["csh"])]),
            ]),
            StagedPage::Resources(vec![group("admins")]),
            StagedPage::Access(vec![member("admins", "alice"), member("admins", "bob")]),
        ],
    )
    .await;
    let stats = second.stats;
    assert_eq!(
        (
            stats.attributes.created,
            stats.attributes.updated,
            stats.attributes.deleted,
            stats.attributes.unchanged
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(
        (
            stats.access.created,
            stats.access.deleted,
            stats.access.unchanged
        ),
        (1, 0, 1)
    );
    assert_eq!(second.unresolved_access, 0);
    let mut conn = app.conn().await;
    let shells: Vec<Shell> = diesel::sql_query(
        "SELECT a.username, aa.attribute_values FROM account_attributes aa
         JOIN accounts a ON a.id = aa.account_id WHERE aa.name = 'shell' ORDER BY 1",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        shells,
        [Shell::new("alice", "zsh"), Shell::new("bob", "sh")]
    );

    // bob leaves: his membership closes, his attributes stay with his soft-deleted account.
    let third = merge(
        &app,
        integration_id,
        vec![
            StagedPage::Accounts(vec![account("alice", &[("shell", &["zsh"])])]),
            StagedPage::Resources(vec![group("admins")]),
            StagedPage::Access(vec![member("admins", "alice")]),
        ],
    )
    .await;
    let stats = third.stats;
    assert_eq!((stats.accounts.deleted, stats.accounts.unchanged), (1, 1));
    assert_eq!((stats.access.deleted, stats.access.unchanged), (1, 1));
    assert_eq!(
        (stats.attributes.deleted, stats.attributes.unchanged),
        (0, 1)
    );
}
