//! The same listing merged into two fresh databases: once by a first sync, once by the normal
//! merge (what any later sync runs). Both land the same rows, stats, links and warnings.

use oblique::connectors::{RemoteAccess, RemoteAccount};
use oblique::engine::first_sync::{BYTES_PER_OBJECT, MEMORY_BUDGET};
use oblique::engine::merge::{self, Merged};
use oblique::engine::stage::{ObjectKind, StagedPage, Staging};
use oblique::model::LinkUsersBy;

use super::{account, client, group, integration, landed, member, problem};
use crate::harness::TestApp;

/// A listing with everything a remote may send that the merge must treat with care: objects
/// and pairs listed twice, a pair listed as direct and as inherited, pairs naming objects that
/// were not listed, two accounts saying one email, an unreadable account, attributes; pairs
/// naming their account by a member name (an LDAP DN or username): one name, a name two
/// accounts share, a name no account has (inherited: left out), a pair also listed by id.
/// `ann_listed_twice`: without it, every account is listed once, which lands attributes under
/// the ids they were staged with (else they are merged by external id).
fn pages(ann_listed_twice: bool) -> Vec<StagedPage> {
    let attrs: &[(&str, &[&str])] = &[("title", &["Boss"]), ("phones", &["1", "2"])];
    let ann = || {
        named(
            account("ann", Some("Ann@Example.org"), attrs),
            &["dn:ann", "uid:ann"],
        )
    };
    let eve = named(account("eve", None, &[]), &["dn:eve"]);
    vec![
        StagedPage::Accounts(vec![
            ann(),
            named(
                account("bob", Some("shared@example.org"), &[("title", &["Dev"])]),
                &["dn:bob", "uid:shared"],
            ),
            named(
                account("cid", Some("shared@example.org"), &[]),
                &["dn:cid", "uid:shared"],
            ),
            account("dan", None, &[("title", &["Ops"])]),
        ]),
        StagedPage::Accounts(if ann_listed_twice {
            // Listed again, the same: one account.
            vec![ann(), eve]
        } else {
            vec![eve]
        }),
        StagedPage::Resources(vec![group("admins"), group("devs")]),
        StagedPage::Resources(vec![group("ops"), group("devs")]),
        StagedPage::Access(vec![
            member("devs", "bob", false),
            member("devs", "ann", true),
            member("admins", "ann", false),
            member("devs", "bob", false),
            member("ops", "dan", true),
            member("devs", "ghost", false),
            member("nowhere", "ann", false),
            by_name("ops", "dn:ann", false),
            by_name("devs", "uid:shared", false),
            by_name("admins", "dn:ghost", true),
            by_name("ops", "dn:eve", true),
            by_name("admins", "uid:ann", false),
        ]),
        StagedPage::Access(vec![
            member("devs", "ann", false),
            member("ops", "eve", false),
            member("nowhere", "ann", false),
        ]),
    ]
}

/// `account`, listed with the member names a directory gives it.
fn named(account: RemoteAccount, names: &[&str]) -> RemoteAccount {
    RemoteAccount {
        member_names: names.iter().map(|name| name.to_string()).collect(),
        ..account
    }
}

/// A membership naming its account by the member name `name`.
fn by_name(resource: &str, name: &str, inherited: bool) -> RemoteAccess {
    RemoteAccess {
        by_member_name: true,
        ..member(resource, name, inherited)
    }
}

/// Stages `pages` in a database of its own, merges them (as a first sync or not) in a
/// committed transaction, and returns what landed and what the merge reported. `appeared`: a
/// resource of the integration is made while it lists (as Oblique makes one for a new team),
/// so that the merge finds the integration no longer empty.
async fn land(first_sync: bool, case: Case) -> (Vec<String>, Merged) {
    let Case {
        policy,
        appeared,
        ann_listed_twice,
        budget,
    } = case;
    let app = TestApp::spawn_without_sync().await;
    let integration_id = integration(&app, "same-landing").await;
    let secret = {
        let mut conn = app.conn().await;
        oblique::db::integrations::access_key_secret(&mut conn, integration_id)
            .await
            .unwrap()
    };
    let mut staging = Staging::open(&app.database_url, secret).await.unwrap();
    if first_sync {
        staging.expect_first_sync_within(budget);
    } else {
        // The normal merge's SQL resolves every pair by member name; a first sync resolves
        // them while listing (given up, from staging's names): each way lands the same.
        staging.without_member_names();
    }
    for page in pages(ann_listed_twice) {
        staging.stage(page).await.unwrap();
    }
    staging
        .problems(ObjectKind::Account, &[problem("fay")])
        .await
        .unwrap();
    staging.finish().await.unwrap();
    if appeared {
        client(&app)
            .await
            .execute(
                "INSERT INTO resources (id, integration_id, external_id, resource_type, name)
                 VALUES (gen_random_uuid(), $1, 'team-devs', 'group', 'team-devs')",
                &[&integration_id],
            )
            .await
            .unwrap();
    }
    let listing = staging.take_first_sync();
    assert_eq!(listing.is_some(), first_sync && budget >= MEMORY_BUDGET);
    let tx = staging.client().transaction().await.unwrap();
    let run_id: uuid::Uuid = tx
        .query_one(
            "SELECT id FROM sync_runs WHERE integration_id = $1",
            &[&integration_id],
        )
        .await
        .unwrap()
        .get(0);
    tx.execute(
        "UPDATE sync_runs SET started_at = now() WHERE id = $1",
        &[&run_id],
    )
    .await
    .unwrap();
    let merged = merge::apply_listed(&tx, integration_id, run_id, policy, listing)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let landed = landed(&client(&app).await, integration_id).await;
    (landed, merged)
}

#[derive(Clone, Copy)]
struct Case {
    policy: LinkUsersBy,
    appeared: bool,
    ann_listed_twice: bool,
    /// What the first sync may keep; below MEMORY_BUDGET, this listing outgrows it.
    budget: usize,
}

const EMAIL: Case = Case {
    policy: LinkUsersBy::Email,
    appeared: false,
    ann_listed_twice: true,
    budget: MEMORY_BUDGET,
};

/// What the listing's accounts and resources count against the budget (its pairs come
/// after).
const OBJECTS: usize = 2 * "annbobciddaneve".len()
    + 5 * BYTES_PER_OBJECT
    + 2 * "adminsdevsops".len()
    + 3 * BYTES_PER_OBJECT;

async fn same_as_the_normal_merge(case: Case) {
    let (normal, normal_merged) = land(false, case).await;
    let (first, first_merged) = land(true, case).await;
    assert_eq!(first, normal);
    assert_eq!(first_merged.stats, normal_merged.stats);
    assert_eq!(
        first_merged.unresolved_access,
        normal_merged.unresolved_access
    );
    assert_eq!(first_merged.links.changed, normal_merged.links.changed);
    assert_eq!(first_merged.links.held, normal_merged.links.held);
    assert_eq!(first_merged.links.named, normal_merged.links.named);
    // What the listing holds, so that the comparison is not of two empty landings.
    assert!(first.contains(&"access rows 6".to_string()), "{first:#?}");
    assert!(
        first.contains(&"access ops ann key ok true inherited false open true".to_string()),
        "by member name; {first:#?}"
    );
    assert!(
        first.contains(&"access ops eve key ok true inherited false open true".to_string()),
        "listed direct by id and inherited by name: direct; {first:#?}"
    );
    assert!(
        first.contains(&"access devs ann key ok true inherited false open true".to_string()),
        "listed direct and inherited: direct; {first:#?}"
    );
    assert!(
        first
            .iter()
            .filter(|row| row.starts_with("access "))
            .all(|row| row.starts_with("access rows") || row.contains(" key ok true ")),
        "{first:#?}"
    );
    assert!(
        first.contains(&"attribute ann phones 1,2".to_string()),
        "{first:#?}"
    );
    assert!(
        first.contains(&"stored attributes 4".to_string()),
        "{first:#?}"
    );
    assert!(
        !first
            .iter()
            .any(|row| row.starts_with("orphaned attribute") || row.contains(" naming a missing ")),
        "{first:#?}"
    );
    assert!(
        first
            .iter()
            .any(|row| row.starts_with("account ") && !row.contains(" user none ")),
        "some account is linked to a user: {first:#?}"
    );
    // ghost, nowhere and the name bob and cid share; not ghost's inherited pair.
    assert_eq!(first_merged.unresolved_access, 3);
    assert_eq!(first_merged.stats.errors, 1);
    assert_eq!(first_merged.stats.accounts.created, 5);
}

#[tokio::test]
async fn a_first_sync_lands_what_the_normal_merge_lands_linking_by_email() {
    same_as_the_normal_merge(EMAIL).await;
}

#[tokio::test]
async fn a_first_sync_of_accounts_each_listed_once_lands_what_the_normal_merge_lands() {
    same_as_the_normal_merge(Case {
        ann_listed_twice: false,
        ..EMAIL
    })
    .await;
}

#[tokio::test]
async fn a_first_sync_lands_what_the_normal_merge_lands_linking_by_username() {
    same_as_the_normal_merge(Case {
        policy: LinkUsersBy::Username,
        ..EMAIL
    })
    .await;
}

/// A first sync that outgrows its memory budget is given up: with its first memberships kept
/// (staged when given up) or before any.
#[tokio::test]
async fn a_first_sync_given_up_for_its_size_lands_what_the_normal_merge_lands() {
    for budget in [OBJECTS, 0] {
        same_as_the_normal_merge(Case { budget, ..EMAIL }).await;
    }
}

/// The merge checks again that nothing landed meanwhile; when something did, the pairs kept
/// for a first sync are staged and merged the normal way.
#[tokio::test]
async fn a_first_sync_that_finds_a_resource_made_meanwhile_merges_the_normal_way() {
    same_as_the_normal_merge(Case {
        appeared: true,
        ..EMAIL
    })
    .await;
}
