//! `TestApp::spawn()`: the real server on port 0, over its own fresh database, with clients for
//! each role. Logs are silent unless TEST_LOG is set.

pub mod remote;
pub mod servers;

use std::net::SocketAddr;

use oblique::auth::{Role, token};
use oblique::context::AppContext;
use oblique::crypto::SecretKey;
use oblique::pb::{
    integration_service_client::IntegrationServiceClient, sync_service_client::SyncServiceClient,
};
use oblique::server::TlsFiles;
use oblique::sync::EngineConfig;
use secrecy::ExposeSecret;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

pub use remote::remote_postgres;

/// Adds `authorization: Bearer …` to every call (or nothing, for the anonymous client).
#[derive(Clone)]
pub struct Bearer(Option<String>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            let value = format!("Bearer {token}").parse().expect("header value");
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

/// Clients of every service, all presenting the same token.
#[derive(Clone)]
pub struct Clients {
    pub integrations: IntegrationServiceClient<Authed>,
    pub sync: SyncServiceClient<Authed>,
}

impl Clients {
    pub fn new(channel: Channel, token: Option<String>) -> Self {
        let bearer = Bearer(token);
        Clients {
            integrations: IntegrationServiceClient::with_interceptor(
                channel.clone(),
                bearer.clone(),
            ),
            sync: SyncServiceClient::with_interceptor(channel, bearer),
        }
    }
}

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

    /// The server with no sync workers: queued runs stay queued, for tests of the queue itself.
    pub async fn spawn_without_sync() -> TestApp {
        let engine = EngineConfig {
            workers: 0,
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
        init_test_logging();
        let (database_name, database_url) = servers::create_test_database().await;
        let mut ctx = AppContext::new(
            oblique::db::connect_pool(&database_url, 8).expect("pool"),
            SecretKey::generate(),
            database_url.clone(),
        );
        ctx.engine = engine;
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

    pub async fn conn(
        &self,
    ) -> diesel_async::pooled_connection::deadpool::Object<diesel_async::AsyncPgConnection> {
        self.ctx.pool.get().await.expect("conn")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        servers::drop_test_database(std::mem::take(&mut self.database_name));
    }
}

/// Short timings so that tests of leases, schedules and cancellation finish quickly.
pub fn test_engine() -> EngineConfig {
    EngineConfig {
        workers: 2,
        lease: std::time::Duration::from_secs(3),
        heartbeat: std::time::Duration::from_millis(200),
        poll: std::time::Duration::from_millis(200),
        schedule: std::time::Duration::from_millis(500),
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
