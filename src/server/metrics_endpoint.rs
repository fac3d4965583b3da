//! `GET /metrics` on its own plain-HTTP listener (`--metrics-listen`), for Prometheus: the
//! service's counters, and the gauges read from the database and the pool at each scrape. It
//! serves numbers only (no names of integrations, users or resources, no secrets) and nothing
//! else; the listener is off unless asked for.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::context::AppContext;
use crate::db::figures;
use crate::metrics::{Metrics, PoolState};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves until the context's shutdown fires.
pub async fn serve(ctx: AppContext, listener: TcpListener) -> std::io::Result<()> {
    let shutdown = ctx.shutdown.clone();
    let app = Router::new().route("/metrics", get(scrape)).with_state(ctx);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn scrape(State(ctx): State<AppContext>) -> Response {
    set_pool_gauges(&ctx);
    // A database that cannot answer leaves the figures read from it as they were: the rest of
    // the scrape (the gRPC error counts, above all) matters most just then.
    if let Err(error) = set_database_gauges(&ctx.metrics, &ctx).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "metrics scrape: database figures not read"
        );
    }
    let body = ctx.metrics.encode();
    (StatusCode::OK, [(header::CONTENT_TYPE, OPENMETRICS)], body).into_response()
}

fn set_pool_gauges(ctx: &AppContext) {
    let status = ctx.pool.status();
    let idle = i64::try_from(status.available).unwrap_or_default();
    let in_use = i64::try_from(status.size).unwrap_or_default() - idle;
    for (state, count) in [("idle", idle), ("in_use", in_use)] {
        let state = PoolState {
            state: state.to_string(),
        };
        ctx.metrics
            .pool_connections
            .get_or_create(&state)
            .set(count);
    }
}

async fn set_database_gauges(metrics: &Metrics, ctx: &AppContext) -> anyhow::Result<()> {
    let mut conn = ctx.pool.get().await?;
    let queue = figures::queue(&mut conn).await?;
    metrics.queue_depth.set(queue.depth);
    metrics.queue_oldest_seconds.set(queue.oldest_seconds);
    metrics
        .resources_in_error
        .set(figures::resources_in_error(&mut conn).await?);
    Ok(())
}
