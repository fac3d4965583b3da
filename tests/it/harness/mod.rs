//! `TestApp::spawn()`: the real server on port 0, over its own fresh database, with clients for
//! each role. Logs are silent unless TEST_LOG is set.
//!
//! The throwaway servers, the test PKI and the gRPC clients come from `oblique-testkit`
//! (crates/testkit), which the benchmark shares; this harness holds what only these tests need.

pub mod calls;
pub mod echoing_postgres;
pub mod raw_grpc;
pub mod remote;
pub mod samba;
pub mod scim;
pub mod servers;
pub mod slapd;

pub use oblique_testkit::grpc::{Bearer, Clients};
pub use oblique_testkit::pki;
pub use oblique_testkit::wait::{PATIENCE, eventually, get_run, wait_for_run};
pub use remote::remote_postgres;

use std::net::SocketAddr;

use oblique::auth::{Role, token};
use oblique::context::AppContext;
use oblique::crypto::SecretKey;
use oblique::engine::EngineConfig;
use oblique::request_limits::RequestLimits;
use oblique::server::TlsFiles;
use secrecy::ExposeSecret;
use tonic::Status;
use tonic::transport::Channel;

pub struct TestApp {
    pub addr: SocketAddr,
    pub database_url: String,
    pub ctx: AppContext,
    pub channel: Channel,
    pub admin: Clients,
    pub service: Clients,
    pub viewer: Clients,
    pub anonymous: Clients,
    database_name: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    /// The server with its sync engine, on test timings.
    pub async fn spawn() -> TestApp {
        Self::spawn_configured(None, test_engine()).await
    }

    /// The server with no sync workers and a scheduler that ticks once at start only: queued
    /// runs stay queued and nothing expires or retries by itself, for tests that drive those.
    pub async fn spawn_without_sync() -> TestApp {
        let engine = EngineConfig {
            workers: 0,
            schedule: std::time::Duration::from_secs(3600),
            ..test_engine()
        };
        Self::spawn_configured(None, engine).await
    }

    /// With `tls`, the server speaks only TLS and the returned clients are not connected (the
    /// test makes its own); otherwise they are plaintext clients on the server.
    pub async fn spawn_with_tls(tls: Option<TlsFiles>) -> TestApp {
        Self::spawn_configured(tls, test_engine()).await
    }

    pub async fn spawn_configured(tls: Option<TlsFiles>, engine: EngineConfig) -> TestApp {
        Self::spawn_with_keys(tls, engine, SecretKey::generate().into()).await
    }

    /// With these credentials keys (e.g. read from a key file that a test rotates).
    pub async fn spawn_with_keys(
        tls: Option<TlsFiles>,
        engine: EngineConfig,
        keys: oblique::crypto::Keys,
    ) -> TestApp {
        Self::spawn_full(tls, engine, keys, RequestLimits::default()).await
    }

    /// With the server's request limits set by the test.
    pub async fn spawn_limited(
        tls: Option<TlsFiles>,
        engine: EngineConfig,
        limits: RequestLimits,
    ) -> TestApp {
        Self::spawn_full(tls, engine, SecretKey::generate().into(), limits).await
    }

    async fn spawn_full(
        tls: Option<TlsFiles>,
        engine: EngineConfig,
        keys: oblique::crypto::Keys,
        limits: RequestLimits,
    ) -> TestApp {
        init_test_logging();
        let (database_name, database_url) = servers::create_test_database().await;
        let mut ctx = AppContext::new(
            oblique::db::connect_pool(&database_url, 8).expect("pool"),
            keys,
            database_url.clone(),
        );
        ctx.engine = engine;
        ctx.limits = limits;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_ctx = ctx.clone();
        let tls_for_server = tls.clone();
        tokio::spawn(async move {
            let result =
                oblique::server::run(server_ctx, listener, tls_for_server.as_ref(), async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = result {
                tracing::error!(error = format!("{error:#}"), "test server failed");
            }
        });
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect_lazy();
        let mut app = TestApp {
            addr,
            database_url,
            admin: Clients::new(channel.clone(), None),
            service: Clients::new(channel.clone(), None),
            viewer: Clients::new(channel.clone(), None),
            anonymous: Clients::new(channel.clone(), None),
            channel: channel.clone(),
            ctx,
            database_name,
            shutdown: Some(shutdown),
        };
        app.admin = Clients::new(
            channel.clone(),
            Some(app.issue_token("test-admin", Role::Admin).await),
        );
        app.service = Clients::new(
            channel.clone(),
            Some(app.issue_token("test-service", Role::Service).await),
        );
        app.viewer = Clients::new(
            channel,
            Some(app.issue_token("test-viewer", Role::Viewer).await),
        );
        app
    }

    /// A new token, straight into this app's database.
    pub async fn issue_token(&self, name: &str, role: Role) -> String {
        let mut conn = self.ctx.pool.get().await.expect("conn");
        token::issue(&mut conn, name, role)
            .await
            .expect("issuing token")
            .expose_secret()
            .to_string()
    }

    /// A pooled connection: the runtime role, as the server has.
    pub async fn conn(
        &self,
    ) -> diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection> {
        self.ctx.pool.get().await.expect("conn")
    }

    /// A connection as the owner of the tables (what migrations run as), not the server's role.
    pub async fn owner_conn(&self) -> diesel_async::AsyncPgConnection {
        let url = servers::owner_url(&self.database_name).expect("a test database");
        oblique::db::connect::establish(&url)
            .await
            .expect("connecting as the owner")
    }
}

impl TestApp {
    /// A second server on this app's database, as another replica would be: its own pool,
    /// event listener and sync workers. Its database is not dropped with it.
    pub async fn spawn_replica(&self, engine: EngineConfig) -> TestApp {
        let mut ctx = AppContext::new(
            oblique::db::connect_pool(&self.database_url, 8).expect("pool"),
            self.ctx.secret_key.clone(),
            self.database_url.clone(),
        );
        ctx.engine = engine;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_ctx = ctx.clone();
        tokio::spawn(async move {
            let _ = oblique::server::run(server_ctx, listener, None, async {
                let _ = stopped.await;
            })
            .await;
        });
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect_lazy();
        let clients = |of: &Clients| of.on(channel.clone());
        TestApp {
            addr,
            database_url: self.database_url.clone(),
            admin: clients(&self.admin),
            service: clients(&self.service),
            viewer: clients(&self.viewer),
            anonymous: clients(&self.anonymous),
            channel,
            ctx,
            database_name: String::new(),
            shutdown: Some(shutdown),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if !self.database_name.is_empty() {
            servers::drop_test_database(std::mem::take(&mut self.database_name));
        }
    }
}

/// Short timings so that tests of schedules, retries and cancellation finish quickly. The lease
/// is long: a heartbeat a busy machine delays must not lose a healthy run (the lease test expires
/// its lease by hand).
pub fn test_engine() -> EngineConfig {
    EngineConfig {
        workers: 2,
        lease: PATIENCE,
        heartbeat: std::time::Duration::from_millis(200),
        poll: std::time::Duration::from_millis(200),
        schedule: std::time::Duration::from_millis(500),
        push_retry_base: std::time::Duration::from_secs(1),
        push_retry_max: std::time::Duration::from_secs(2),
        push_max_attempts: 10,
        run_timeout: PATIENCE,
    }
}

fn init_test_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            oblique::logging::init(oblique::logging::LogFormat::Text);
        }
    });
}

/// Creating an integration from `request` is refused with INVALID_ARGUMENT naming `field` (the
/// message starts with `field:`); the status, for further checks.
pub async fn refused_naming(
    client: &mut oblique::pb::integration_service_client::IntegrationServiceClient<
        oblique_testkit::grpc::Authed,
    >,
    request: oblique::pb::CreateIntegrationRequest,
    field: &str,
) -> Status {
    let status = expect_code(
        client.create_integration(request).await,
        tonic::Code::InvalidArgument,
    );
    assert!(
        status.message().starts_with(&format!("{field}:")),
        "{status:?}"
    );
    status
}

/// The error of `result`, which must have `code`.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(result: Result<T, Status>, code: tonic::Code) -> Status {
    match result {
        Ok(value) => panic!("expected {code:?}, got Ok({value:?})"),
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            status
        }
    }
}

/// A valid create request for the test remote system.
pub async fn create_request(name: &str) -> oblique::pb::CreateIntegrationRequest {
    let remote = remote_postgres().await;
    oblique::pb::CreateIntegrationRequest {
        r#type: "postgres".into(),
        name: name.into(),
        config: remote.config(),
        credentials: remote.credentials(),
        ..Default::default()
    }
}

/// The integration as it is now (with its account and resource counts).
pub async fn get_integration(clients: &Clients, id: &str) -> oblique::pb::Integration {
    let request = oblique::pb::GetIntegrationRequest { id: id.into() };
    clients
        .integrations
        .clone()
        .get_integration(request)
        .await
        .expect("GetIntegration")
        .into_inner()
}
