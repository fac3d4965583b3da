//! A dry run lists its whole difference (ListSyncRunChanges): against a real remote PostgreSQL,
//! the changes listed are exactly what changed there, nothing is applied, pages walk every
//! change once, and only succeeded dry runs answer.

use diesel_async::RunQueryDsl;
use oblique::pb::{self, SyncRunChangeKind as Kind, SyncRunState};
use tonic::Code;
use uuid::Uuid;

use crate::harness::calls::{accounts, memberships, run_messages, sync_again, synced};
use crate::harness::remote::RemoteRoles;
use crate::harness::{TestApp, expect_code};

/// A change as a test names it: kind, resource name, account username, and whether the
/// resource and the account existed before the run (have an id).
type Seen = (Kind, String, String, bool, bool);

async fn page(
    app: &TestApp,
    run_id: &str,
    page_size: i32,
    page_token: &str,
) -> Result<pb::ListSyncRunChangesResponse, tonic::Status> {
    app.viewer
        .sync
        .clone()
        .list_sync_run_changes(pb::ListSyncRunChangesRequest {
            run_id: run_id.into(),
            page_size,
            page_token: page_token.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Every change of the run, page by page of `page_size`; each page but the last is full.
async fn all_changes(app: &TestApp, run_id: &str, page_size: i32) -> Vec<pb::SyncRunChange> {
    let (mut changes, mut token) = (Vec::new(), String::new());
    loop {
        let answer = page(app, run_id, page_size, &token).await.expect("a page");
        let full = answer.changes.len() == page_size as usize;
        changes.extend(answer.changes);
        if answer.next_page_token.is_empty() {
            return changes;
        }
        assert!(full, "a page before the last is full");
        token = answer.next_page_token;
    }
}

fn seen(changes: &[pb::SyncRunChange]) -> Vec<Seen> {
    changes
        .iter()
        .map(|c| {
            (
                c.kind(),
                c.resource_name.clone(),
                c.account_username.clone(),
                !c.resource_id.is_empty(),
                !c.account_id.is_empty(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_dry_run_lists_exactly_what_changed_on_the_remote_and_applies_none_of_it() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    // Six accounts, so that dropping one stays within the mass-deletion guard's 20%.
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_carol LOGIN;
             CREATE ROLE {p}_erin LOGIN; CREATE ROLE {p}_frank LOGIN; CREATE ROLE {p}_gina LOGIN;
             CREATE ROLE {p}_readers NOLOGIN; CREATE ROLE {p}_writers NOLOGIN;
             CREATE ROLE {p}_admins NOLOGIN;
             GRANT {p}_readers TO {p}_alice, {p}_carol; GRANT {p}_writers TO {p}_bob;",
        )
        .await;
    let (integration, first) = synced(&app, roles.create_request("directory").await).await;
    let access_before = memberships(&app, &integration).await;
    let accounts_before = accounts(&app, &integration, true).await;

    // Grant a role, revoke another, add a user (with a role), drop one (with its role).
    roles
        .sql(
            "GRANT {p}_admins TO {p}_alice; REVOKE {p}_writers FROM {p}_bob;
             CREATE ROLE {p}_dave LOGIN; GRANT {p}_readers TO {p}_dave;
             DROP ROLE {p}_carol;",
        )
        .await;
    let run = sync_again(&app, &integration, true, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");

    let changes = all_changes(&app, &run.id, 100).await;
    let n = |short: &str| roles.name(short);
    let expected: Vec<Seen> = vec![
        (Kind::AccessAdded, n("admins"), n("alice"), true, true),
        (Kind::AccessAdded, n("readers"), n("dave"), true, false),
        (Kind::AccessRemoved, n("readers"), n("carol"), true, true),
        (Kind::AccessRemoved, n("writers"), n("bob"), true, true),
        (Kind::AccountCreated, String::new(), n("dave"), false, false),
        (Kind::AccountDeleted, String::new(), n("carol"), false, true),
    ];
    assert_eq!(seen(&changes), expected, "{changes:#?}");
    // The ids are those of the objects as they are (the dry run made none).
    let carol = accounts_before
        .iter()
        .find(|a| a.username == n("carol"))
        .expect("carol");
    assert_eq!(changes[5].account_id, carol.id);
    assert_eq!(changes[5].account_external_id, carol.external_id);
    assert!(changes.iter().all(|c| !c.inherited));

    // Nothing was applied.
    assert_eq!(memberships(&app, &integration).await, access_before);
    assert_eq!(accounts(&app, &integration, true).await, accounts_before);

    // One event points at the list instead of sampling it.
    let messages = run_messages(&app, &run).await;
    let pointer = format!(
        "dry run: 6 changes listed; see ListSyncRunChanges with run_id {}",
        run.id
    );
    assert!(
        messages.iter().any(|m| m.starts_with(&pointer)),
        "{messages:?}"
    );

    // Pages of two walk every change exactly once, in the same order.
    let paged = all_changes(&app, &run.id, 2).await;
    assert_eq!(paged, changes);
    let first_page = page(&app, &run.id, 2, "").await.unwrap();
    assert_eq!(first_page.changes.len(), 2);
    assert!(!first_page.next_page_token.is_empty());

    // Only dry runs record their changes.
    let status = expect_code(page(&app, &first.id, 0, "").await, Code::FailedPrecondition);
    assert!(
        status
            .message()
            .contains("only dry runs record their changes"),
        "{status:?}"
    );
    expect_code(
        page(&app, &Uuid::now_v7().to_string(), 0, "").await,
        Code::NotFound,
    );
    for (run_id, size, token, field) in [
        ("not-a-uuid", 0, "", "run_id"),
        (run.id.as_str(), 0, "garbage", "page_token"),
        (run.id.as_str(), 1001, "", "page_size"),
        (run.id.as_str(), -1, "", "page_size"),
    ] {
        let status = expect_code(page(&app, run_id, size, token).await, Code::InvalidArgument);
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "{status:?}"
        );
    }
    // A token of another run's list is refused, not followed.
    let other = sync_again(&app, &integration, true, false).await;
    let status = expect_code(
        page(&app, &other.id, 2, &first_page.next_page_token).await,
        Code::InvalidArgument,
    );
    assert!(status.message().starts_with("page_token:"), "{status:?}");
    assert_eq!(all_changes(&app, &other.id, 1000).await, changes);
}

#[tokio::test]
async fn a_first_dry_run_lists_everything_as_created_without_ids() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    // The first sync finds nothing of this fixture: the integration is empty.
    let (integration, _) = synced(&app, roles.create_request("empty").await).await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN;
             CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice, {p}_bob;",
        )
        .await;
    let run = sync_again(&app, &integration, true, false).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");

    let changes = all_changes(&app, &run.id, 0).await;
    let n = |short: &str| roles.name(short);
    assert_eq!(
        seen(&changes),
        vec![
            (Kind::AccessAdded, n("readers"), n("alice"), false, false),
            (Kind::AccessAdded, n("readers"), n("bob"), false, false),
            (
                Kind::AccountCreated,
                String::new(),
                n("alice"),
                false,
                false
            ),
            (Kind::AccountCreated, String::new(), n("bob"), false, false),
            (
                Kind::ResourceCreated,
                n("readers"),
                String::new(),
                false,
                false
            ),
        ]
    );
    assert!(
        changes
            .iter()
            .all(|c| !c.resource_external_id.is_empty() || c.kind() == Kind::AccountCreated)
    );
    assert!(accounts(&app, &integration, true).await.is_empty());
}

#[tokio::test]
async fn a_membership_now_held_directly_is_listed_as_updated() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles
        .sql("CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice;")
        .await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    // As if an earlier listing had found it through a member group only (PostgreSQL roles list
    // every membership as direct).
    diesel::sql_query("UPDATE pulled_access SET inherited = true WHERE integration_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(Uuid::parse_str(&integration.id).unwrap())
        .execute(&mut app.conn().await)
        .await
        .unwrap();

    let run = sync_again(&app, &integration, true, false).await;
    let changes = all_changes(&app, &run.id, 0).await;
    assert_eq!(
        seen(&changes),
        vec![(
            Kind::AccessUpdated,
            roles.name("readers"),
            roles.name("alice"),
            true,
            true
        )]
    );
    assert!(!changes[0].inherited, "now held directly");
}

#[tokio::test]
async fn a_dry_run_that_has_not_succeeded_has_no_list() {
    // No workers: runs stay queued until cancelled.
    let app = TestApp::spawn_without_sync().await;
    let integration = crate::harness::calls::create(&app, "idle").await;
    let initial = integration.last_sync_run.clone().expect("initial run");
    cancel(&app, &initial.id).await;

    let dry = app
        .service
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: integration.id.clone(),
            dry_run: true,
            allow_mass_deletion: false,
        })
        .await
        .expect("trigger")
        .into_inner();
    assert!(dry.dry_run);
    let status = expect_code(page(&app, &dry.id, 0, "").await, Code::FailedPrecondition);
    assert!(status.message().contains("still queued"), "{status:?}");

    cancel(&app, &dry.id).await;
    let status = expect_code(page(&app, &dry.id, 0, "").await, Code::FailedPrecondition);
    assert!(
        status.message().contains("recorded no changes"),
        "{status:?}"
    );
}

async fn cancel(app: &TestApp, run_id: &str) {
    app.admin
        .sync
        .clone()
        .cancel_sync_run(pb::CancelSyncRunRequest { id: run_id.into() })
        .await
        .expect("cancel");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let counted: Count = diesel::sql_query(sql)
        .get_result(&mut app.conn().await)
        .await
        .expect("counting");
    counted.count
}

/// Cancelled after its difference was read out and before it was stored: the test holds a lock
/// that storing needs, cancels the run meanwhile, then lets go. The run ends CANCELLED with no
/// list at all, not a part of one.
#[tokio::test]
async fn a_dry_run_cancelled_while_storing_its_changes_keeps_none() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN").await;
    let (integration, _) = synced(&app, roles.create_request("directory").await).await;
    roles
        .sql("CREATE ROLE {p}_bob LOGIN; CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_bob")
        .await;

    let mut holder = app.owner_conn().await;
    use diesel_async::SimpleAsyncConnection;
    holder
        .batch_execute("BEGIN; LOCK TABLE sync_run_changes IN SHARE MODE")
        .await
        .expect("locking sync_run_changes");
    let run = app
        .service
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: integration.id.clone(),
            dry_run: true,
            allow_mass_deletion: false,
        })
        .await
        .expect("trigger")
        .into_inner();
    crate::harness::eventually("the dry run to wait to store its changes", || async {
        let waiting = count(
            &app,
            "SELECT count(*) AS count FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND query LIKE 'COPY sync_run_changes%'",
        )
        .await;
        (waiting > 0).then_some(())
    })
    .await;
    cancel(&app, &run.id).await;
    holder.batch_execute("ROLLBACK").await.expect("unlocking");
    crate::harness::eventually("the run's staging connection to close", || async {
        let open = count(
            &app,
            "SELECT count(*) AS count FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'oblique-sync'",
        )
        .await;
        (open == 0).then_some(())
    })
    .await;

    let stored = count(
        &app,
        &format!(
            "SELECT count(*) AS count FROM sync_run_changes WHERE run_id = '{}'",
            run.id
        ),
    )
    .await;
    assert_eq!(stored, 0, "a cancelled dry run stored changes");
    let ended = crate::harness::wait_for_run(&app.admin, &run.id).await;
    assert_eq!(ended.state(), SyncRunState::Cancelled, "{ended:?}");
    let messages = run_messages(&app, &ended).await;
    assert!(
        !messages.iter().any(|m| m.starts_with("dry run:")),
        "{messages:?}"
    );
    expect_code(page(&app, &run.id, 0, "").await, Code::FailedPrecondition);
}
