//! The server `--watchers` subscribes through: Oblique's own (`oblique::server::run`, every
//! layer included) in this process, on the sync's database, with `oblique serve`'s default pool
//! size and a viewer token. Its workers are off: the benchmark claims and runs the synthetic
//! pull itself (no connector type serves the synthetic directory), and a worker of the server
//! must not claim that run first.

use std::net::SocketAddr;

use oblique::context::AppContext;
use oblique::crypto::SecretKey;
use oblique::db::connect_pool;
use oblique::model::Role;
use secrecy::SecretString;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// `oblique serve`'s default `--db-pool-size`.
const SERVE_POOL_SIZE: usize = 16;

pub struct InProcessServer {
    pub address: SocketAddr,
    pub token: SecretString,
    stop: oneshot::Sender<()>,
    ctx: AppContext,
    task: JoinHandle<anyhow::Result<()>>,
}

impl InProcessServer {
    /// Starts the server on the (migrated) database at `url`, on a free local port.
    pub async fn start(url: &str) -> anyhow::Result<Self> {
        let mut ctx = AppContext::new(
            connect_pool(url, SERVE_POOL_SIZE)?,
            SecretKey::generate(),
            url.to_string(),
        );
        ctx.engine.workers = 0;
        let token = {
            let mut conn = ctx.pool.get().await?;
            oblique::auth::token::issue(&mut conn, "bench-watcher", Role::Viewer).await?
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(oblique::server::run(ctx.clone(), listener, None, async {
            let _ = stopped.await;
        }));
        let server = InProcessServer {
            address,
            token,
            stop,
            ctx,
            task,
        };
        server.wait_until_listening().await;
        Ok(server)
    }

    /// The hub's LISTEN is set up in a task of its own: a run emitting before it is would
    /// reach no live stream (watchers would read it back, but the benchmark measures the live
    /// path).
    async fn wait_until_listening(&self) {
        let mut listening = self.ctx.hub.listening();
        let _ = listening.wait_for(|generation| *generation > 0).await;
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.ctx.shutdown.cancel();
        self.task.await?
    }
}
