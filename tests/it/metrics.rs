//! `oblique serve --metrics-listen`: the real binary's `/metrics`, scraped before and after the
//! things it counts (a refused call and an accepted one, an integration's first sync, an open
//! subscription, a push), shows each number move by what happened, and the figures read at
//! scrape time (queue, pool, build) are there.

use oblique::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::remote::{RemoteRoles, remote_postgres};
use crate::harness::servers::create_test_database;
use crate::harness::{eventually, wait_for_run};
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, wait_for_token};

/// The body of `GET /metrics`.
pub(crate) async fn scrape(port: u16) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connecting to the metrics listener");
    let request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    body.to_string()
}

/// The value of the sample `series` (name and labels exactly as encoded); 0 when absent.
pub(crate) fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
        .unwrap_or(0.0)
}

fn handled(method: &str, code: &str) -> String {
    format!(
        "grpc_server_handled_total{{grpc_service=\"oblique.v1.IntegrationService\",\
         grpc_method=\"{method}\",grpc_code=\"{code}\"}}"
    )
}

#[tokio::test]
async fn metrics_count_calls_runs_rows_subscribers_and_pushes() {
    let roles = RemoteRoles::new().await;
    roles
        .sql(
            "CREATE ROLE {p}_alice LOGIN; CREATE ROLE {p}_bob LOGIN;
             CREATE ROLE {p}_readers NOLOGIN; GRANT {p}_readers TO {p}_alice",
        )
        .await;
    let (database, url) = create_test_database().await;
    let _database = DropDatabase(database);
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let port = oblique_testkit::free_port();
    let mut serve = oblique(&data.path());
    serve
        .env("DATABASE_URL", &url)
        .env("OBLIQUE_METRICS_LISTEN", format!("127.0.0.1:{port}"));
    let mut server = Server::start(serve, logs.path().join("serve.log"));
    let token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    let admin = server.ready_clients(&token).await;

    let before = scrape(port).await;
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        sample(
            &before,
            &format!("oblique_build_info{{version=\"{version}\"}}")
        ),
        1.0
    );
    assert_eq!(sample(&before, &handled("CreateIntegration", "OK")), 0.0);
    assert!(before.trim_end().ends_with("# EOF"), "{before}");

    let mut config = remote_postgres().await.config();
    config.insert("role_pattern".into(), roles.pattern());
    let request = pb::CreateIntegrationRequest {
        r#type: "postgres".into(),
        name: "measured".into(),
        config,
        credentials: remote_postgres().await.credentials(),
        ..Default::default()
    };
    let unknown_type = pb::CreateIntegrationRequest {
        r#type: "no-such-type".into(),
        ..request.clone()
    };
    let mut integrations = admin.integrations.clone();
    assert!(integrations.create_integration(unknown_type).await.is_err());
    let created = integrations
        .create_integration(request)
        .await
        .expect("create")
        .into_inner();
    let run = wait_for_run(&admin, &created.last_sync_run.unwrap().id).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded, "{run:?}");

    // The run is counted once its worker has recorded it, a moment after it shows SUCCEEDED.
    let runs = "oblique_sync_runs_total{type=\"postgres\",trigger=\"created\",state=\"succeeded\"}";
    let after = eventually("the run counted", || async {
        let text = scrape(port).await;
        (sample(&text, runs) == 1.0).then_some(text)
    })
    .await;
    assert_eq!(sample(&after, &handled("CreateIntegration", "OK")), 1.0);
    assert_eq!(
        sample(&after, &handled("CreateIntegration", "INVALID_ARGUMENT")),
        1.0
    );
    let timed = "grpc_server_handling_seconds_count{grpc_service=\"oblique.v1.IntegrationService\",\
                 grpc_method=\"CreateIntegration\"}";
    assert_eq!(sample(&after, timed), 2.0);
    let rows = |kind: &str| {
        sample(
            &after,
            &format!("oblique_sync_rows_written_total{{kind=\"{kind}\"}}"),
        )
    };
    assert_eq!(
        (rows("accounts"), rows("resources"), rows("access")),
        (2.0, 1.0, 1.0)
    );
    assert_eq!(
        sample(
            &after,
            "oblique_sync_run_duration_seconds_count{type=\"postgres\"}"
        ),
        1.0
    );
    assert_eq!(sample(&after, "oblique_sync_queue_depth"), 0.0);
    assert_eq!(sample(&after, "oblique_sync_queue_oldest_seconds"), 0.0);
    assert_eq!(sample(&after, "oblique_resources_in_error"), 0.0);
    assert!(sample(&after, "oblique_db_pool_connections{state=\"idle\"}") >= 1.0);

    // An open subscription is counted while it lasts.
    let subscription = admin
        .sync
        .clone()
        .subscribe_sync_events(pb::SubscribeSyncEventsRequest::default())
        .await
        .expect("subscribe")
        .into_inner();
    eventually("one subscriber", || async {
        (sample(&scrape(port).await, "oblique_subscribers") == 1.0).then_some(())
    })
    .await;
    drop(subscription);
    eventually("no subscriber", || async {
        (sample(&scrape(port).await, "oblique_subscribers") == 0.0).then_some(())
    })
    .await;

    // A grant on a push-mode resource is one member added on the remote.
    let resources = integrations
        .list_resources(pb::ListResourcesRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .resources;
    let readers = &resources[0];
    integrations
        .set_resource_sync_mode(pb::SetResourceSyncModeRequest {
            resource_id: readers.id.clone(),
            sync_mode: pb::SyncMode::Push.into(),
        })
        .await
        .expect("push mode");
    let accounts = integrations
        .list_accounts(pb::ListAccountsRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .accounts;
    let bob = accounts
        .iter()
        .find(|a| a.username == roles.name("bob"))
        .expect("bob");
    admin
        .access
        .clone()
        .grant_access(pb::GrantAccessRequest {
            resource_id: readers.id.clone(),
            user_id: bob.user_id.clone(),
            reason: "measured".into(),
            expires_at: None,
        })
        .await
        .expect("grant");
    let added = "oblique_pushes_total{op=\"add\",outcome=\"ok\"}";
    eventually("bob's push counted", || async {
        (sample(&scrape(port).await, added) == 1.0).then_some(())
    })
    .await;
}
