//! One remote value PostgreSQL cannot store (a NUL character, an email longer than an index row
//! holds) is that object's sync error, never the whole sync's failure; event messages are capped
//! in bytes so that their NOTIFY fits.

use diesel_async::RunQueryDsl;
use oblique::db::run_events::{self as events, EventDraft, EventKind};
use oblique::pb;
use uuid::Uuid;

use crate::harness::calls::{self, accounts, synced};
use crate::harness::slapd::Directory;
use crate::harness::{PATIENCE, TestApp};
use crate::ldap::PEOPLE;

#[derive(diesel::QueryableByName, Debug)]
struct Problem {
    #[diesel(sql_type = diesel::sql_types::Text)]
    object: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    message: String,
}

#[tokio::test]
async fn a_nul_and_an_overlong_mail_are_sync_errors_and_the_rest_syncs() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    // Random hex does not compress: stored, it would not fit in an index row.
    let long_mail = format!(
        "{}@example.org",
        (0..160)
            .map(|_| Uuid::new_v4().simple().to_string())
            .collect::<String>()
    );
    assert!(long_mail.len() > 5000);
    directory
        .ldif(&format!(
            "
dn: uid=nightshift,ou=people,{{base}}
objectClass: inetOrgPerson
uid: nightshift
cn: Night Shift
sn: Shift
title:: TmlnaHQAU2hpZnQ=

dn: uid=longmail,ou=people,{{base}}
objectClass: inetOrgPerson
uid: longmail
cn: Long Mail
sn: Mail
mail: {long_mail}
"
        ))
        .await;
    let mut request = directory.create_request("odd values");
    request
        .config
        .insert("user_attributes".into(), "cn,title".into());
    let (integration, run) = synced(&app, request).await;
    assert_eq!(run.stats.unwrap().errors, 2);
    let usernames: Vec<String> = accounts(&app, &integration, false)
        .await
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(usernames, ["alice", "bob", "carol"]);

    let problems: Vec<Problem> = diesel::sql_query(
        "SELECT object, message FROM sync_errors WHERE integration_id = $1::uuid ORDER BY object",
    )
    .bind::<diesel::sql_types::Text, _>(&integration.id)
    .load(&mut app.conn().await)
    .await
    .unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].object, "account:longmail");
    assert!(problems[0].message.starts_with("email is"), "{problems:?}");
    assert_eq!(problems[1].object, "account:nightshift");
    assert!(problems[1].message.contains("NUL"), "{problems:?}");
}

#[tokio::test]
async fn an_event_message_longer_than_a_notify_is_stored_and_published_capped() {
    let app = TestApp::spawn_without_sync().await;
    let integration = calls::create(&app, "long messages").await;
    let run_id = integration.last_sync_run.expect("the initial run").id;
    let mut stream = app
        .viewer
        .sync
        .clone()
        .subscribe_sync_events(pb::SubscribeSyncEventsRequest {
            integration_id: integration.id.clone(),
        })
        .await
        .expect("subscribe")
        .into_inner();
    // Wait for the listener: an event before it listens would not be published to this stream.
    let hub = app.ctx.hub.clone();
    crate::harness::eventually("the event listener to listen", || async {
        (*hub.listening().borrow() > 0).then_some(())
    })
    .await;

    // 12,000 bytes of four-byte characters, then quotes that JSON doubles.
    let message = format!("{}{}", "😀".repeat(3000), "\"".repeat(3000));
    let run = Uuid::parse_str(&run_id).unwrap();
    let warning = EventDraft::new(EventKind::Warning).message(message.clone());
    let mut conn = app.conn().await;
    events::emit(&mut conn, run, warning)
        .await
        .expect("emitting a warning with a long message");

    let published = tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("the warning, live")
        .expect("the stream")
        .expect("the stream goes on");
    let body = published.message.strip_suffix('…').expect("marked as cut");
    assert!(message.starts_with(body));
    assert!(published.message.len() < 8000);
    let stored = events::stored_after(&mut conn, run, 0)
        .await
        .expect("stored events");
    let stored = stored.last().expect("the warning, stored");
    assert_eq!(stored.message, published.message);
}

/// A remote whose objects are nearly all unreadable: every one is a sync error (staged in
/// batches as the listing goes, not kept in memory to its end), the readable ones sync, and
/// only the first few are reported as WARNING events.
#[tokio::test]
async fn more_unreadable_objects_than_a_batch_are_all_recorded() {
    const UNREADABLE: usize = 1234;
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.ldif(PEOPLE).await;
    let entries: String = (0..UNREADABLE)
        .map(|i| {
            format!(
                "
dn: uid=odd{i},ou=people,{{base}}
objectClass: inetOrgPerson
uid: odd{i}
cn: Odd {i}
sn: Odd
title:: TmlnaHQAU2hpZnQ=
"
            )
        })
        .collect();
    directory.ldif(&entries).await;
    let mut request = directory.create_request("mostly odd");
    request
        .config
        .insert("user_attributes".into(), "cn,title".into());
    let (integration, run) = synced(&app, request).await;
    assert_eq!(run.stats.unwrap().errors, UNREADABLE as i64);
    assert_eq!(accounts(&app, &integration, false).await.len(), 3);

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let recorded: Count = diesel::sql_query(
        "SELECT count(DISTINCT object) AS count FROM sync_errors WHERE integration_id = $1::uuid",
    )
    .bind::<diesel::sql_types::Text, _>(&integration.id)
    .get_result(&mut app.conn().await)
    .await
    .unwrap();
    assert_eq!(recorded.count, UNREADABLE as i64);
    let warnings = calls::run_messages(&app, &run)
        .await
        .into_iter()
        .filter(|message| message.contains("NUL"))
        .count();
    assert_eq!(
        warnings, 20,
        "only the first unreadable objects are reported as events"
    );
}
