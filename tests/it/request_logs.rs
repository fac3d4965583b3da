//! `oblique serve` logs one call or one run so it can be followed, in both log formats: the
//! caller's `x-request-id` is echoed (a new one when none is sent), every call ends with one
//! access line in a span carrying its request id, method, traceparent and principal, refused
//! calls too, and what a sync run logs carries its `run_id` and `integration_id`. No token shows.

use oblique::logging::LogFormat;
use oblique::pb;
use oblique_testkit::grpc::Clients;
use serde_json::Value;
use tonic::Request;

use crate::harness::remote::{RemoteRoles, remote_postgres};
use crate::harness::servers::create_test_database;
use crate::harness::{eventually, wait_for_run};
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, wait_for_token};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const LIST_METHOD: &str = "oblique.v1.IntegrationService/ListIntegrations";

/// What one server logged while the test called it.
struct Logged {
    log: String,
    request_id: String,
    integration_id: String,
    run_id: String,
    token: String,
}

/// Calls a server logging in `format`: one listing with a request id and a traceparent, one
/// with neither, one refused, and an integration created (so a run logs).
async fn call_and_sync(format: &str) -> Logged {
    let roles = RemoteRoles::new().await;
    roles.sql("CREATE ROLE {p}_alice LOGIN").await;
    let (database, url) = create_test_database().await;
    let _database = DropDatabase(database);
    let data = DataDir::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let mut serve = oblique(&data.path());
    serve
        .env("DATABASE_URL", &url)
        .args(["--log-format", format]);
    let mut server = Server::start(serve, logs.path().join("serve.log"));
    let token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    let admin = server.ready_clients(&token).await;
    let mut integrations = admin.integrations.clone();

    let request_id = format!("it-{format}-listing");
    let mut listing = Request::new(pb::ListIntegrationsRequest::default());
    listing
        .metadata_mut()
        .insert("x-request-id", request_id.parse().unwrap());
    listing
        .metadata_mut()
        .insert("traceparent", TRACEPARENT.parse().unwrap());
    let answer = integrations.list_integrations(listing).await.expect("list");
    assert_eq!(echoed(answer.metadata()), request_id);

    let answer = integrations
        .list_integrations(pb::ListIntegrationsRequest::default())
        .await
        .expect("list");
    let made = echoed(answer.metadata());
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made:?}");

    let stranger = Clients::new(server.channel(), Some("obq_not-a-token".into()));
    let mut refused = Request::new(pb::ListIntegrationsRequest::default());
    refused
        .metadata_mut()
        .insert("x-request-id", "it-refused".parse().unwrap());
    let status = stranger
        .integrations
        .clone()
        .list_integrations(refused)
        .await
        .expect_err("a stranger is refused");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(echoed(status.metadata()), "it-refused");

    let mut config = remote_postgres().await.config();
    config.insert("role_pattern".into(), roles.pattern());
    let created = integrations
        .create_integration(pb::CreateIntegrationRequest {
            r#type: "postgres".into(),
            name: "followed".into(),
            config,
            credentials: remote_postgres().await.credentials(),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let run_id = created.last_sync_run.unwrap().id;
    let run = wait_for_run(&admin, &run_id).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded, "{run:?}");
    // The worker logs the run's end a moment after recording it.
    let log = eventually("the run's end logged", || async {
        let log = server.log_text();
        log.contains("sync run succeeded").then_some(log)
    })
    .await;
    Logged {
        log,
        request_id,
        integration_id: created.id,
        run_id,
        token,
    }
}

fn echoed(metadata: &tonic::metadata::MetadataMap) -> String {
    metadata
        .get("x-request-id")
        .expect("x-request-id echoed")
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn json_logs_follow_a_call_and_a_run() {
    let logged = call_and_sync("json").await;
    assert!(
        !logged.log.contains(&logged.token),
        "the log shows the token"
    );
    let lines: Vec<Value> = logged
        .log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "oblique::access")
        .collect();
    let listing = access
        .iter()
        .find(|line| line["span"]["request_id"] == logged.request_id.as_str())
        .unwrap_or_else(|| panic!("no access line for the listing:\n{}", logged.log));
    assert_eq!(listing["method"], LIST_METHOD);
    assert_eq!(listing["code"], "OK");
    assert_eq!(listing["principal"], "admin");
    assert_eq!(listing["span"]["principal"], "admin");
    assert_eq!(listing["span"]["traceparent"], TRACEPARENT);
    assert!(listing["duration_ms"].as_f64().is_some(), "{listing}");
    let refused = access
        .iter()
        .find(|line| line["span"]["request_id"] == "it-refused")
        .unwrap_or_else(|| panic!("no access line for the refused call:\n{}", logged.log));
    assert_eq!(refused["code"], "UNAUTHENTICATED");
    assert_eq!(refused["principal"], "-");

    let of_the_run: Vec<&Value> = lines
        .iter()
        .filter(|line| {
            line["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("sync run"))
        })
        .collect();
    assert!(of_the_run.len() >= 2, "{}", logged.log);
    for line in of_the_run {
        assert_eq!(line["span"]["run_id"], logged.run_id.as_str(), "{line}");
        assert_eq!(
            line["span"]["integration_id"],
            logged.integration_id.as_str(),
            "{line}"
        );
    }
}

#[tokio::test]
async fn text_logs_follow_a_call_and_a_run() {
    let logged = call_and_sync("text").await;
    assert!(
        !logged.log.contains(&logged.token),
        "the log shows the token"
    );
    let listing_span = format!(
        "rpc{{request_id={} method={LIST_METHOD} traceparent={TRACEPARENT} principal=admin}}",
        logged.request_id
    );
    let listing = logged
        .log
        .lines()
        .find(|line| line.contains(&listing_span) && line.contains("oblique::access"))
        .unwrap_or_else(|| panic!("no access line in {listing_span}:\n{}", logged.log));
    for field in [
        format!("method={LIST_METHOD}"),
        "code=OK".into(),
        "principal=admin".into(),
        "duration_ms=".into(),
    ] {
        assert!(listing.contains(&field), "{field} missing: {listing}");
    }
    let refused = logged
        .log
        .lines()
        .find(|line| line.contains("request_id=it-refused") && line.contains("oblique::access"))
        .unwrap_or_else(|| panic!("no access line for the refused call:\n{}", logged.log));
    assert!(refused.contains("code=UNAUTHENTICATED"), "{refused}");
    assert!(refused.contains("principal=-"), "{refused}");

    let run_span = format!(
        "run{{run_id={} integration_id={}}}",
        logged.run_id, logged.integration_id
    );
    let of_the_run: Vec<&str> = logged
        .log
        .lines()
        .filter(|line| line.contains("sync run"))
        .collect();
    assert!(of_the_run.len() >= 2, "{}", logged.log);
    for line in of_the_run {
        assert!(line.contains(&run_span), "{run_span} missing: {line}");
    }
}

/// Both formats are the ones `--log-format` offers.
#[test]
fn the_formats_tested_are_the_ones_offered() {
    use clap::ValueEnum;
    let offered: Vec<String> = LogFormat::value_variants()
        .iter()
        .map(|format| format.to_possible_value().unwrap().get_name().to_string())
        .collect();
    assert_eq!(offered, ["text", "json"]);
}
