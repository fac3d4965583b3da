//! `--rpc`: unary throughput of the real server (P6). `GetIntegration` called by 64 concurrent
//! callers, each over an HTTP/2 connection of its own, for a fixed time, against `pgbench`
//! running the same indexed SELECT with the same 64 clients on the same database, one after the
//! other in one run. The server is Oblique's own (`oblique::server::run`, the auth, limits,
//! metrics and logging layers included), in this process, with `oblique serve`'s default pool
//! size; the callers authenticate with a viewer token.

mod callers;
mod pgbench;
mod report;
mod seed;

use std::time::Duration;

use oblique::context::AppContext;
use oblique::crypto::SecretKey;
use oblique::db::{connect_pool, migrate};
use oblique::model::Role;

pub use report::RpcReport;

/// What `--rpc` runs: how many callers, for how long, over how many integrations.
#[derive(Debug, Clone, Copy)]
pub struct RpcLoad {
    pub callers: usize,
    pub duration: Duration,
    pub integrations: usize,
}

impl Default for RpcLoad {
    fn default() -> Self {
        RpcLoad {
            callers: 64,
            duration: Duration::from_secs(20),
            integrations: 1000,
        }
    }
}

/// `oblique serve`'s default `--db-pool-size`.
const SERVE_POOL_SIZE: usize = 16;

/// One round on the (fresh) database at `url`.
pub async fn run_round(url: &str, load: RpcLoad) -> anyhow::Result<RpcReport> {
    migrate::run_pending(url).await?;
    let ids = seed::integrations(url, load.integrations).await?;
    let ctx = AppContext::new(
        connect_pool(url, SERVE_POOL_SIZE)?,
        SecretKey::generate(),
        url.to_string(),
    );
    let token = {
        let mut conn = ctx.pool.get().await?;
        oblique::auth::token::issue(&mut conn, "bench-viewer", Role::Viewer).await?
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let shutdown = ctx.shutdown.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(oblique::server::run(ctx, listener, None, async {
        let _ = stopped.await;
    }));

    let calls = callers::call(address, &token, &ids, load).await;
    let _ = stop.send(());
    shutdown.cancel();
    server.await??;
    let calls = calls?;
    let pgbench = pgbench::run(url, load).await?;
    Ok(RpcReport {
        load,
        calls,
        pgbench,
    })
}
