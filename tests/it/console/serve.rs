//! `oblique serve --console-listen` (here through its environment variable): the real binary
//! serves the console beside gRPC, and stops it when it stops.

use super::visitor::Visitor;
use crate::harness::servers::create_test_database;
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, wait_for_token};

#[tokio::test]
async fn serve_runs_the_console_beside_grpc_and_stops_it_with_itself() {
    let (database, url) = create_test_database().await;
    let _database = DropDatabase(database);
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let port = oblique_testkit::free_port();
    let mut serve = oblique(&data.path());
    serve
        .env("DATABASE_URL", &url)
        .env("OBLIQUE_CONSOLE_LISTEN", format!("127.0.0.1:{port}"));
    let mut server = Server::start(serve, logs.path().join("serve.log"));
    let token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    server.ready_clients(&token).await;

    let mut visitor = Visitor::new(&format!("http://127.0.0.1:{port}"));
    let cookie = visitor.sign_in(&token).await.expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let home = visitor.get("/").await;
    assert!(home.body.contains("<h1>Integrations</h1>"), "{}", home.body);
    assert!(home.body.contains("Add integration"));

    assert!(server.terminate().await.success(), "{}", server.log_text());
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "the console stopped with the server"
    );
}
