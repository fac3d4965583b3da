//! The embedded PostgreSQL is supervised by `serve`: killed, it is started again on its cluster,
//! port and socket, and the same process serves again; gone for good (its cluster moved away),
//! `serve` exits non-zero instead of answering NOT_SERVING for ever.

use std::path::Path;
use std::time::Instant;

use oblique::pb::ListIntegrationsRequest;

use crate::serve_binary::{DEADLINE, DataDir, Server, oblique, wait_for_token};

/// The postmaster's pid, from the first line of its pid file.
fn postmaster_pid(data: &Path) -> i32 {
    let text = std::fs::read_to_string(data.join("pg/data/postmaster.pid")).expect("pid file");
    text.lines().next().unwrap().trim().parse().expect("pid")
}

fn kill_9(pid: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "kill -9 {pid}"
    );
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[tokio::test]
async fn a_killed_embedded_postgres_is_started_again_and_the_same_server_serves() {
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(oblique(&data.path()), logs.path().join("serve.log"));
    let admin = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    let mut clients = server.ready_clients(&admin).await;
    clients
        .integrations
        .list_integrations(ListIntegrationsRequest::default())
        .await
        .expect("serving before the kill");

    let killed = postmaster_pid(&data.path());
    kill_9(killed);
    let deadline = Instant::now() + DEADLINE;
    while alive(killed) {
        server.tick("the killed postmaster to go", deadline).await;
    }
    // The same server process answers a call that needs the database again.
    while clients
        .integrations
        .list_integrations(ListIntegrationsRequest::default())
        .await
        .is_err()
    {
        server
            .tick("a database call after the restart", deadline)
            .await;
    }
    let restarted = postmaster_pid(&data.path());
    assert_ne!(restarted, killed);
    assert!(alive(restarted));
    assert!(
        server
            .log_text()
            .contains("the embedded PostgreSQL stopped; starting it again"),
        "{}",
        server.log_text()
    );
    assert!(server.terminate().await.success(), "{}", server.log_text());
}

#[tokio::test]
async fn serve_exits_non_zero_when_its_embedded_postgres_cannot_be_started_again() {
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(oblique(&data.path()), logs.path().join("serve.log"));
    let admin = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    server.ready_clients(&admin).await;

    // The cluster is moved away and the server killed: there is nothing to start again, and a
    // new empty cluster in its place would serve without the data.
    let cluster = data.path().join("pg/data");
    let moved = data.path().join("pg/data.moved");
    let pid = postmaster_pid(&data.path());
    std::fs::rename(&cluster, &moved).expect("moving the cluster");
    kill_9(pid);
    let status = server.wait_for_exit("its PostgreSQL was killed").await;
    assert!(!status.success(), "{status}; log:\n{}", server.log_text());
    assert!(
        server.log_text().contains("could not be started again"),
        "{}",
        server.log_text()
    );
    assert!(
        !cluster.join("PG_VERSION").exists(),
        "a new cluster was made in place of the missing one"
    );
    // Put it back so that the data dir's guard can stop anything left.
    std::fs::rename(&moved, &cluster).expect("moving the cluster back");
}
