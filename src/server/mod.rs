//! The gRPC server: Oblique's services behind the auth layer, plus health and reflection; the
//! layers that count and log every call; and the metrics endpoint beside it.

pub mod call_end;
pub mod grpc_metrics;
pub mod metrics_endpoint;
pub mod request_id;
pub mod request_log;

use std::{future::Future, path::PathBuf, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::api::{
    access_service::AccessApi, integration_service::IntegrationApi, sync_service::SyncApi,
    team_service::TeamApi, user_service::UserApi,
};
use crate::auth::layer::AuthLayer;
use crate::context::AppContext;
use crate::domain::grants;
use crate::health;
use crate::pb::{
    self, access_service_server::AccessServiceServer,
    integration_service_server::IntegrationServiceServer, sync_service_server::SyncServiceServer,
    team_service_server::TeamServiceServer, user_service_server::UserServiceServer,
};
use crate::request_limits::RequestLimitsLayer;
use grpc_metrics::GrpcMetricsLayer;
use request_log::RequestLogLayer;

/// PEM files for TLS; with `client_ca`, clients must present a certificate it signed (mTLS).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// Serves on `listener` until `shutdown` resolves, then lets in-flight calls finish.
pub async fn run(
    ctx: AppContext,
    listener: TcpListener,
    tls: Option<&TlsFiles>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let health_watch = tokio::spawn(health::watch_database(ctx.pool.clone(), reporter));
    let listener_task = tokio::spawn(ctx.hub.clone().listen(ctx.database_url.clone()));
    let engine_tasks = ctx.sync_engine().start(ctx.shutdown.clone());
    let expiry_task = tokio::spawn(grants::expire_periodically(
        ctx.clone(),
        ctx.engine.schedule,
        ctx.shutdown.clone(),
    ));
    let stop = ctx.shutdown.clone();
    let shutdown = async move {
        shutdown.await;
        // Ends the endless streams too, so the graceful shutdown does not wait on subscribers.
        stop.cancel();
    };

    // grpcurl 1.8 speaks only v1alpha reflection; newer clients use v1.
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let limits = ctx.limits.clone();
    let max_message = limits.max_message_bytes;
    let mut builder = Server::builder()
        .max_concurrent_streams(limits.max_streams_per_connection)
        // A caller that vanished without closing its connection (its subscriptions with it) is
        // noticed within a minute instead of holding its streams for ever.
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(20)));
    if let Some(files) = tls {
        builder = builder
            .tls_config(tls_config(files)?)
            .context("configuring TLS")?;
    }
    let serving = builder
        // Counted and logged first, so that calls shed or refused are counted and logged too;
        // then limits: an overload is shed before the auth layer looks at anything.
        .layer(GrpcMetricsLayer::new(ctx.metrics.clone()))
        .layer(RequestLogLayer)
        .layer(RequestLimitsLayer::new(&limits))
        .layer(AuthLayer::new(ctx.pool.clone()))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            IntegrationServiceServer::new(IntegrationApi::new(ctx.clone()))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            SyncServiceServer::new(SyncApi::new(ctx.clone()))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            UserServiceServer::new(UserApi::new(ctx.clone()))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            TeamServiceServer::new(TeamApi::new(ctx.clone()))
                .max_decoding_message_size(max_message),
        )
        .add_service(
            AccessServiceServer::new(AccessApi::new(ctx.clone()))
                .max_decoding_message_size(max_message),
        )
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown);
    // Streams end at the signal and unary calls are short, so calls are usually done at once;
    // a caller that holds one open does not hold the process past the grace period.
    let result = tokio::select! {
        served = serving => served.context("serving gRPC"),
        () = after_grace(&ctx.shutdown, CALLS_GRACE) => {
            tracing::warn!(grace = ?CALLS_GRACE, "calls still open after the shutdown signal; stopping without them");
            Ok(())
        }
    };
    ctx.shutdown.cancel();
    for task in engine_tasks {
        // Workers put their running runs back in the queue before they end; one that cannot
        // (the database does not answer) leaves its run to the lease.
        let _ = tokio::time::timeout(WORKERS_GRACE, task).await;
    }
    let _ = expiry_task.await;
    listener_task.abort();
    health_watch.abort();
    result
}

/// How long after the shutdown signal calls may still finish, then how long the workers may take
/// to give their runs back: together well inside the 10 s an orchestrator usually allows
/// between SIGTERM and SIGKILL.
const CALLS_GRACE: Duration = Duration::from_secs(6);
const WORKERS_GRACE: Duration = Duration::from_secs(2);

/// Resolves `grace` after `shutdown` is cancelled.
async fn after_grace(shutdown: &CancellationToken, grace: Duration) {
    shutdown.cancelled().await;
    tokio::time::sleep(grace).await;
}

fn tls_config(files: &TlsFiles) -> anyhow::Result<ServerTlsConfig> {
    let read =
        |path: &PathBuf| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let mut config =
        ServerTlsConfig::new().identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?));
    if let Some(ca) = &files.client_ca {
        config = config
            .client_ca_root(Certificate::from_pem(read(ca)?))
            .client_auth_optional(false);
    }
    Ok(config)
}
