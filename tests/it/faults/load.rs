//! Load (issue 13, item 16): 64 clients call a real `oblique serve` at once for
//! `OBLIQUE_LOAD_SECONDS` (60 by default), reading, granting and revoking, triggering syncs,
//! changing integrations and creating teams, while the pushes and syncs that causes run. No call
//! may fail but with a code a caller must expect (see `figures::expected`). Afterwards every run
//! has ended and succeeded, each push-mode role on the remote has exactly the members Oblique's
//! decisions say, nothing was corrected as drift, and every grant and revocation that succeeded
//! is audited exactly once. Latencies are printed (`--nocapture`) as RELIABILITY.md quotes them;
//! nothing asserts on them.

mod checks;
mod clients;
mod figures;
mod fixture;
mod settle;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use oblique::auth::{Role, token};
use secrecy::ExposeSecret;

use crate::harness::servers::create_test_database;
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, wait_for_token};
use checks::{all_audit_events, assert_audited_once, assert_remote_as_decided, distinct};
use clients::Tokens;
use figures::Tally;
use settle::{run_time, settle};

const CLIENTS: usize = 64;
const INTEGRATIONS: usize = 3;
/// Per integration: login roles (its users' accounts) and pulled group roles (its resources),
/// each user in two groups; and push-mode groups, each starting with `ADOPTED` members.
const USERS: usize = 120;
const GROUPS: usize = 10;
const PUSHED: usize = 3;
const ADOPTED: usize = 5;
/// The users the clients grant (the first ones, who are also the adopted members): every change
/// is a push operation that opens a connection to the remote (some 0.2 s each in a debug build
/// on a busy machine), so the pairs that may change bound what a run has to push (and how long
/// the test waits for the pushes after the load).
const DECIDED: usize = 20;
/// The service token's name: the actor the audit log records for grants and revocations.
const SERVICE: &str = "load-service";

fn build() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn load_seconds() -> u64 {
    std::env::var("OBLIQUE_LOAD_SECONDS")
        .ok()
        .map(|text| {
            text.parse()
                .expect("OBLIQUE_LOAD_SECONDS: a number of seconds")
        })
        .unwrap_or(60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_mixing_reads_and_writes_during_syncs_see_no_unexpected_error() {
    let (name, url) = create_test_database().await;
    let _database = DropDatabase(name);
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut serve = oblique(&data.path());
    serve.env("DATABASE_URL", &url);
    let mut server = Server::start(serve, logs.path().join("serve.log"));
    let admin_token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    let admin = server.ready_clients(&admin_token).await;
    let tokens = Arc::new(Tokens {
        admin: admin_token,
        service: issue(&url, SERVICE, Role::Service).await,
        viewer: issue(&url, "load-viewer", Role::Viewer).await,
    });
    let mut targets = Vec::new();
    for number in 0..INTEGRATIONS {
        targets.push(fixture::target(&admin, number).await);
    }
    let targets = Arc::new(targets);

    let seconds = load_seconds();
    let began = SystemTime::now();
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|number| {
            let channel = server.channel();
            tokio::spawn(clients::run(
                number,
                channel,
                tokens.clone(),
                targets.clone(),
                until,
            ))
        })
        .collect();
    let mut tally = Tally::default();
    for client in clients {
        tally.merge(client.await.expect("a client panicked"));
    }
    let took = started.elapsed();
    let settled = settle(&mut server, &admin, &targets, began..SystemTime::now()).await;

    let setting = format!(
        "Load, {} build: {CLIENTS} clients (one HTTP/2 connection each) for {seconds} s on one \
         `oblique serve` (defaults: 2 sync workers, 16 connections), {INTEGRATIONS} postgres \
         integrations of {USERS} users, {GROUPS} pulled groups and {PUSHED} push-mode groups \
         each ({} remote roles, {} memberships), grants and revocations among {DECIDED} users of \
         each. {} grants made and {} revoked; {} sync runs queued during the load, the longest \
         {:.0} s, all succeeded; the pushes caught up {:.0} s after the load.",
        build(),
        INTEGRATIONS * (USERS + GROUPS + PUSHED),
        INTEGRATIONS * (USERS * 2 + PUSHED * ADOPTED),
        distinct(&tally.granted, |grant| grant.granted_by == SERVICE).len(),
        distinct(&tally.revoked, |_| true).len(),
        settled.runs.len(),
        settled
            .runs
            .iter()
            .map(run_time)
            .max()
            .unwrap_or_default()
            .as_secs_f64(),
        settled.caught_up.as_secs_f64(),
    );
    eprintln!("{}", tally.report(took, &setting));
    assert!(
        tally.unexpected.is_empty(),
        "{} unexpected errors, the first: {:#?}; server log:\n{}",
        tally.unexpected.len(),
        &tally.unexpected[..tally.unexpected.len().min(10)],
        server.log_text(),
    );
    // Not a load at all otherwise (an OBLIQUE_LOAD_SECONDS too short to prove anything).
    assert!(
        !tally.granted.is_empty() && !tally.revoked.is_empty() && !settled.runs.is_empty(),
        "no grant, no revocation or no run during the load"
    );

    assert_remote_as_decided(&admin, &targets).await;
    assert_audited_once(&admin, "access.grant", &tally.granted, |grant| {
        grant.granted_by == SERVICE
    })
    .await;
    assert_audited_once(&admin, "access.revoke", &tally.revoked, |_| true).await;
    let drift = all_audit_events(&admin, "access.drift_corrected").await;
    assert!(
        drift.is_empty(),
        "Oblique's own pushes corrected as drift: {drift:?}"
    );
    assert!(server.terminate().await.success(), "{}", server.log_text());
}

/// A token straight into the server's database.
async fn issue(url: &str, name: &str, role: Role) -> String {
    let mut conn = oblique::db::connect::establish(url)
        .await
        .expect("connecting");
    let secret = token::issue(&mut conn, name, role)
        .await
        .expect("issuing a token");
    secret.expose_secret().to_string()
}
