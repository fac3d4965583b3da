//! Health and reflection are open to anyone (load balancers and grpcurl carry no token), health
//! follows the database (reachable, with every migration this binary needs), and an RPC no service declares answers UNIMPLEMENTED, but only to a
//! caller with a token.

use std::time::{Duration, Instant};

use oblique::auth::Role;
use oblique::context::AppContext;
use oblique::crypto::SecretKey;
use oblique_testkit::postgres::ThrowawayCluster as OwnCluster;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::harness::servers::{create_test_database, owner_url};
use crate::harness::{TestApp, expect_code};
use crate::serve_binary::DropDatabase;

/// How long the server may take to report a status; the database probe runs every 2 s.
const STATUS_DEADLINE: Duration = Duration::from_secs(60);

/// Polls Health/Check for `service` until it reports `wanted`; panics after the deadline with
/// the last answer.
async fn wait_for_status(channel: &Channel, service: &str, wanted: ServingStatus) {
    let mut client = HealthClient::new(channel.clone());
    let deadline = Instant::now() + STATUS_DEADLINE;
    loop {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let answer = client.check(request).await.map(|r| r.into_inner().status());
        if answer.as_ref().ok() == Some(&wanted) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "health of {service:?} is not {wanted:?} after {STATUS_DEADLINE:?}; last: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn health_reports_serving_without_a_token() {
    let app = TestApp::spawn().await;
    // `app.channel` carries no credentials: health must not need any.
    for service in ["", "oblique.v1.IntegrationService"] {
        wait_for_status(&app.channel, service, ServingStatus::Serving).await;
    }
}

/// Lists services through reflection version `$v` (the two versions are distinct generated
/// types with the same shape, hence a macro).
macro_rules! list_services {
    ($v:ident, $channel:expr) => {{
        use tonic_reflection::pb::$v::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut client = ServerReflectionClient::new($channel);
        let mut answers = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect(concat!("reflection ", stringify!($v)))
            .into_inner();
        let answer = answers
            .message()
            .await
            .expect("reflection answer")
            .expect("one answer");
        match answer.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => list
                .service
                .into_iter()
                .map(|service| service.name)
                .collect::<Vec<String>>(),
            other => panic!("expected a service list, got {other:?}"),
        }
    }};
}

#[tokio::test]
async fn reflection_v1alpha_and_v1_list_the_services_without_a_token() {
    let app = TestApp::spawn().await;
    // grpcurl 1.8 speaks only v1alpha, newer clients v1: both must work.
    let listed = [
        ("v1alpha", list_services!(v1alpha, app.channel.clone())),
        ("v1", list_services!(v1, app.channel.clone())),
    ];
    for (version, names) in listed {
        for wanted in [
            "oblique.v1.IntegrationService",
            "oblique.v1.SyncService",
            "grpc.health.v1.Health",
        ] {
            assert!(
                names.iter().any(|name| name == wanted),
                "reflection {version} does not list {wanted}: {names:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_rpc_is_unimplemented_yet_still_needs_a_token() {
    let app = TestApp::spawn().await;
    let token = app.issue_token("health-admin", Role::Admin).await;
    expect_code(
        call_unknown_rpc(app.channel.clone(), Some(&token)).await,
        Code::Unimplemented,
    );
    // The auth layer runs before routing, so an anonymous caller learns nothing about which
    // RPCs exist.
    expect_code(
        call_unknown_rpc(app.channel.clone(), None).await,
        Code::Unauthenticated,
    );
}

/// `oblique.v1.TeamService/NoSuchRpc`, a method no service declares.
async fn call_unknown_rpc(channel: Channel, token: Option<&str>) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|error| tonic::Status::unavailable(error.to_string()))?;
    let mut request = Request::new(());
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("header value");
        request.metadata_mut().insert("authorization", value);
    }
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/oblique.v1.TeamService/NoSuchRpc");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    grpc.unary(request, path, codec).await.map(|_| ())
}

/// `oblique::server::run` on the database at `url`, with a channel to it and what stops it.
struct Served {
    channel: Channel,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Served {
    async fn start(url: &str) -> Served {
        let ctx = AppContext::new(
            oblique::db::connect_pool(url, 4).expect("pool"),
            SecretKey::generate(),
            url.to_string(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(oblique::server::run(ctx, listener, None, async {
            let _ = stopped.await;
        }));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_lazy();
        Served {
            channel,
            shutdown,
            server,
        }
    }

    async fn stop(self) {
        drop(self.channel);
        let _ = self.shutdown.send(());
        tokio::time::timeout(STATUS_DEADLINE, self.server)
            .await
            .expect("server stops within the deadline")
            .expect("server task")
            .expect("server stops cleanly on shutdown");
    }
}

/// The server as a whole and each of its services report `wanted`.
async fn wait_for_every_status(channel: &Channel, wanted: ServingStatus) {
    for service in [
        "",
        "oblique.v1.IntegrationService",
        "oblique.v1.AccessService",
    ] {
        wait_for_status(channel, service, wanted).await;
    }
}

#[tokio::test]
async fn health_goes_not_serving_when_the_database_stops_answering() {
    let mut cluster = OwnCluster::start().await;
    oblique::cli::database::create_database_if_missing(&cluster.url("postgres"), "oblique")
        .await
        .expect("creating database");
    let url = cluster.url("oblique");
    oblique::db::migrate::run_pending(&url)
        .await
        .expect("migrating");
    let served = Served::start(&url).await;

    wait_for_status(&served.channel, "", ServingStatus::Serving).await;
    cluster.stop().await;
    wait_for_every_status(&served.channel, ServingStatus::NotServing).await;

    // Restarting the cluster may give it another port, which the pool cannot follow, so the
    // way back to SERVING is not checked here.
    served.stop().await;
}

#[tokio::test]
async fn health_goes_not_serving_while_migrations_are_pending() {
    let (name, url) = create_test_database().await;
    let owner = owner_url(&name).expect("the test server's owner role");
    let _database = DropDatabase(name);
    let served = Served::start(&url).await;
    wait_for_every_status(&served.channel, ServingStatus::Serving).await;

    // As if the database were restored from a backup older than this binary.
    oblique::db::migrate::revert_last(&owner)
        .await
        .expect("reverting the last migration");
    wait_for_every_status(&served.channel, ServingStatus::NotServing).await;

    oblique::db::migrate::run_pending(&owner)
        .await
        .expect("migrating again");
    wait_for_every_status(&served.channel, ServingStatus::Serving).await;
    served.stop().await;
}
