//! Access compared by folded pair keys: a resource whose listed pairs fold like its open rows is
//! skipped, so the merge must still notice what folds cannot: resources and accounts it soft
//! deletes while their pairs are still listed, and pairs that change without changing the count.

use diesel::sql_types::{BigInt, Bytea, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use oblique::connectors::{RemoteAccess, RemoteAccount, RemoteResource};
use oblique::engine::access_key::access_pair_key;
use oblique::engine::stage::StagedPage;
use uuid::Uuid;

use super::{Names, account, group, integration, member, merge, merge_resolving, pair_key_secret};
use crate::harness::TestApp;

#[derive(diesel::QueryableByName)]
struct OpenRow {
    #[diesel(sql_type = Text)]
    resource: String,
    #[diesel(sql_type = Text)]
    account: String,
    #[diesel(sql_type = BigInt)]
    pair_key: i64,
}

/// The open rows as (resource, account), sorted; each row's stored key must be its pair's.
async fn open_pairs(app: &TestApp, integration_id: Uuid) -> Vec<(String, String)> {
    let rows: Vec<OpenRow> = diesel::sql_query(
        "SELECT r.external_id AS resource, a.external_id AS account, p.pair_key
         FROM pulled_access p
         JOIN resources r ON r.id = p.resource_id JOIN accounts a ON a.id = p.account_id
         WHERE p.integration_id = $1 AND p.removed_at IS NULL ORDER BY 1, 2",
    )
    .bind::<SqlUuid, _>(integration_id)
    .load(&mut app.conn().await)
    .await
    .unwrap();
    let secret = pair_key_secret(app, integration_id).await;
    rows.into_iter()
        .map(|row| {
            let key = access_pair_key(&secret, &row.resource, &row.account);
            assert_eq!(row.pair_key, key);
            (row.resource, row.account)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(r, a)| (r.to_string(), a.to_string()))
        .collect()
}

fn access_page(pairs: &[(&str, &str)]) -> StagedPage {
    StagedPage::Access(pairs.iter().map(|(r, a)| member(r, a)).collect())
}

/// alice and bob, admins and devs, and the given memberships.
fn everyone_with(memberships: &[(&str, &str)]) -> Vec<StagedPage> {
    vec![
        StagedPage::Accounts(vec![account("alice", &[]), account("bob", &[])]),
        StagedPage::Resources(vec![group("admins"), group("devs")]),
        access_page(memberships),
    ]
}

#[tokio::test]
async fn pairs_of_deleted_objects_close_even_when_still_listed() {
    let app = TestApp::spawn_without_sync().await;
    let integration_id = integration(&app, "folds").await;
    let memberships = [("admins", "alice"), ("admins", "bob"), ("devs", "alice")];
    let first = merge(&app, integration_id, everyone_with(&memberships)).await;
    assert_eq!(first.stats.access.created, 3);

    // bob and devs are no longer listed, but the memberships listing still names them: every
    // resource's pairs fold as before, yet two of them no longer resolve.
    let second = merge(
        &app,
        integration_id,
        vec![
            StagedPage::Accounts(vec![account("alice", &[])]),
            StagedPage::Resources(vec![group("admins")]),
            access_page(&memberships),
        ],
    )
    .await;
    let access = second.stats.access;
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (0, 2, 1)
    );
    assert_eq!(second.unresolved_access, 2);
    assert_eq!(
        open_pairs(&app, integration_id).await,
        pairs(&[("admins", "alice")])
    );

    // Both come back: their pairs resolve again and reopen.
    let third = merge(&app, integration_id, everyone_with(&memberships)).await;
    let access = third.stats.access;
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (2, 0, 1)
    );
    assert_eq!(third.unresolved_access, 0);

    // A member replaced by another keeps the count; the keys tell.
    let swapped = [("admins", "alice"), ("admins", "bob"), ("devs", "bob")];
    let fourth = merge(&app, integration_id, everyone_with(&swapped)).await;
    let access = fourth.stats.access;
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (1, 1, 2)
    );
    assert_eq!(
        open_pairs(&app, integration_id).await,
        pairs(&[("admins", "alice"), ("admins", "bob"), ("devs", "bob")])
    );

    // The same pairs in another order fold alike: all unchanged.
    let reordered = [("devs", "bob"), ("admins", "bob"), ("admins", "alice")];
    let fifth = merge(&app, integration_id, everyone_with(&reordered)).await;
    let access = fifth.stats.access;
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (0, 0, 3)
    );
}

#[tokio::test]
async fn the_sql_pair_key_is_the_rust_one() {
    let app = TestApp::spawn_without_sync().await;
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = BigInt)]
        key: i64,
    }
    let secret: Vec<u8> = (0..64u8).map(|b| b.wrapping_mul(37)).collect();
    for (resource, account) in [
        ("res-1", "acc-2"),
        ("", ""),
        ("cn=Ünïcødé,ou=groups", "uid=o'brien"),
        ("a", "bc"),
    ] {
        let sql: Key = diesel::sql_query("SELECT access_pair_key($1, $2, $3) AS key")
            .bind::<Bytea, _>(&secret)
            .bind::<Text, _>(resource)
            .bind::<Text, _>(account)
            .get_result(&mut app.conn().await)
            .await
            .unwrap();
        assert_eq!(
            sql.key,
            access_pair_key(&secret, resource, account),
            "{resource} {account}"
        );
    }
}

/// The keys a remote's ids fold to are the integration's own: the same pair listed by two
/// integrations gets two keys (a remote cannot compute them to steer a fold), and a pair listed
/// twice opens one row.
#[tokio::test]
async fn pair_keys_are_keyed_per_integration_and_a_pair_listed_twice_opens_one_row() {
    let app = TestApp::spawn_without_sync().await;
    let first = integration(&app, "keyed-1").await;
    let second = integration(&app, "keyed-2").await;
    let (one, two) = (
        pair_key_secret(&app, first).await,
        pair_key_secret(&app, second).await,
    );
    assert_eq!((one.len(), two.len()), (64, 64));
    assert_ne!(one, two, "two integrations share a secret");
    assert_ne!(
        access_pair_key(&one, "admins", "alice"),
        access_pair_key(&two, "admins", "alice")
    );

    let twice = [("admins", "alice"), ("admins", "alice"), ("devs", "bob")];
    for id in [first, second] {
        let merged = merge(&app, id, everyone_with(&twice)).await;
        assert_eq!(merged.stats.access.created, 2);
        // open_pairs checks each stored key against the integration's own secret.
        assert_eq!(
            open_pairs(&app, id).await,
            pairs(&[("admins", "alice"), ("devs", "bob")])
        );
    }
    // Listed twice again: the fold differs from the one open row (the count does), the pairs
    // are compared one by one, and nothing changes.
    let again = merge(&app, first, everyone_with(&twice)).await;
    let access = again.stats.access;
    assert_eq!((access.created, access.deleted), (0, 0));
}

/// Pairs that name their account by a member name (as the LDAP connector lists them) are
/// resolved (while listing, or in SQL) and keyed as the account's pair: listed by name after
/// being listed by id, nothing changes and no resource is even compared pair by pair. An
/// account that is no longer listed takes its name with it: its pair closes, counted as
/// unresolved.
#[tokio::test]
async fn pairs_by_member_name_resolve_in_staging_and_fold_like_pairs_by_id() {
    let app = TestApp::spawn_without_sync().await;
    for names in [Names::WhileListing, Names::InSql] {
        pairs_by_member_name_resolve(&app, names).await;
    }
}

async fn pairs_by_member_name_resolve(app: &TestApp, names: Names) {
    let integration_id = integration(app, &format!("member-names-{names:?}")).await;
    let memberships = [("admins", "alice"), ("admins", "bob"), ("devs", "alice")];
    merge(app, integration_id, everyone_with(&memberships)).await;

    let named = |id: &str| RemoteAccount {
        member_names: vec![format!("dn:{id}"), format!("uid:{}", id.to_uppercase())],
        ..account(id, &[])
    };
    let by_name = |resource: &str, name: &str| RemoteAccess {
        by_member_name: true,
        ..member(resource, name)
    };
    let listing = |accounts: Vec<RemoteAccount>| {
        vec![
            StagedPage::Accounts(accounts),
            StagedPage::Resources(vec![group("admins"), group("devs")]),
            StagedPage::Access(vec![
                by_name("admins", "dn:alice"),
                by_name("admins", "uid:BOB"),
                by_name("devs", "dn:alice"),
            ]),
        ]
    };
    let accounts = vec![named("alice"), named("bob")];
    let by_names = merge_resolving(app, integration_id, listing(accounts), names).await;
    let access = by_names.stats.access;
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (0, 0, 3)
    );
    assert!(!by_names.access_compared, "the folds differ ({names:?})");
    assert_eq!(by_names.unresolved_access, 0);

    // bob is listed without names: uid:BOB names no one.
    let bob = account("bob", &[]);
    let accounts = vec![named("alice"), bob];
    let unnamed = merge_resolving(app, integration_id, listing(accounts), names).await;
    let access = unnamed.stats.access;
    assert_eq!(
        (access.created, access.deleted, access.unchanged),
        (0, 1, 2)
    );
    assert_eq!(unnamed.unresolved_access, 1);
    assert_eq!(
        open_pairs(app, integration_id).await,
        pairs(&[("admins", "alice"), ("devs", "alice")])
    );
}

/// Resources listed with member names are member resources where a pair names them: their
/// accounts, at any depth and through a cycle, get the outer resource's access, inherited; a
/// direct member stays direct, and a name no account has is counted once, at its own resource.
#[tokio::test]
async fn member_resources_are_expanded_in_staging_through_a_cycle() {
    let app = TestApp::spawn_without_sync().await;
    let integration_id = integration(&app, "nesting").await;
    let named_account = |id: &str| RemoteAccount {
        member_names: vec![format!("dn:{id}")],
        ..account(id, &[])
    };
    let named_group = |id: &str| RemoteResource {
        member_names: vec![format!("dn:{id}")],
        ..group(id)
    };
    let by_name = |resource: &str, name: &str| RemoteAccess {
        by_member_name: true,
        ..member(resource, name)
    };
    // all -> devs -> core -> all; alice in all, bob in devs and all, carol and a ghost in core.
    let listing = || {
        vec![
            StagedPage::Accounts(["alice", "bob", "carol"].map(named_account).to_vec()),
            StagedPage::Resources(["all", "devs", "core"].map(named_group).to_vec()),
            StagedPage::Access(vec![
                by_name("all", "dn:alice"),
                by_name("all", "dn:devs"),
                member("all", "bob"),
                by_name("devs", "dn:bob"),
                by_name("devs", "dn:core"),
                by_name("core", "dn:carol"),
                by_name("core", "dn:ghost"),
                by_name("core", "dn:all"),
            ]),
        ]
    };
    let first = merge_resolving(&app, integration_id, listing(), Names::InSql).await;
    assert_eq!(first.stats.access.created, 9);
    assert_eq!(first.unresolved_access, 1, "the ghost, once");
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Inherited {
        #[diesel(sql_type = Text)]
        pair: String,
    }
    let inherited: Vec<String> = diesel::sql_query(
        "SELECT r.external_id || ' ' || a.external_id AS pair FROM pulled_access p
         JOIN resources r ON r.id = p.resource_id JOIN accounts a ON a.id = p.account_id
         WHERE p.integration_id = $1 AND p.removed_at IS NULL AND p.inherited ORDER BY 1",
    )
    .bind::<SqlUuid, _>(integration_id)
    .load::<Inherited>(&mut app.conn().await)
    .await
    .unwrap()
    .into_iter()
    .map(|row| row.pair)
    .collect();
    assert_eq!(
        inherited,
        [
            "all carol",
            "core alice",
            "core bob",
            "devs alice",
            "devs carol"
        ]
    );
    assert_eq!(open_pairs(&app, integration_id).await.len(), 9);

    // The same listing again: inherited pairs are keyed like the open rows, nothing changes.
    let again = merge(&app, integration_id, listing()).await;
    let access = again.stats.access;
    assert_eq!((access.created, access.deleted, access.updated), (0, 0, 0));
}
