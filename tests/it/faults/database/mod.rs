//! Oblique's own database goes away between calls and comes back: calls answer UNAVAILABLE
//! (never INTERNAL) while it is gone, the same server answers again once it is back, and a
//! stream opened afterwards sees live events.
//!
//! The server runs over a throwaway cluster of its own, which the test stops and starts again
//! on the same port (and whose backends it terminates), as an operator's restart would.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use oblique::auth::{Role, token};
use oblique::context::AppContext;
use oblique::crypto::SecretKey;
use oblique::db::embedded::PostgresBinaries;
use oblique::db::pool::IDLE_CHECK_AFTER;
use oblique::db::run_events::{self as events, EventDraft, EventKind};
use oblique::engine::EngineConfig;
use oblique::pb;
use oblique_testkit::postgres::ThrowawayCluster;
use secrecy::ExposeSecret;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::harness::{Clients, PATIENCE, create_request, eventually, test_engine};

mod mid_run;

/// A cluster the test may stop and start again on the same port.
struct RestartableCluster {
    cluster: ThrowawayCluster,
    /// Set once the test started the server itself: the cluster's handle no longer knows it
    /// runs, so dropping it would leave it running.
    restarted: bool,
}

impl RestartableCluster {
    async fn start() -> Self {
        let cluster = ThrowawayCluster::try_start("oblique-faults-db")
            .await
            .expect("a throwaway cluster");
        RestartableCluster {
            cluster,
            restarted: false,
        }
    }

    fn url(&self, database: &str) -> String {
        self.cluster.url(database)
    }

    async fn stop(&mut self) {
        match self.restarted {
            false => self.cluster.stop().await,
            true => {
                let status = pg_ctl(&self.cluster.data_dir(), &["stop", "-m", "fast", "-w"]);
                assert!(status, "pg_ctl stop");
            }
        }
    }

    /// Starts the stopped server again on its port, with the options the testkit gives it.
    async fn start_again(&mut self) {
        let data = self.cluster.data_dir();
        let log = data
            .parent()
            .expect("the cluster's directory")
            .join("postgres.log");
        let options = format!(
            "-p {} -k '' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.cluster.port()
        );
        let log = log.to_string_lossy().into_owned();
        let started = tokio::task::spawn_blocking(move || {
            pg_ctl(
                &data,
                &["start", "-w", "-t", "60", "-l", &log, "-o", &options],
            )
        })
        .await
        .expect("the starting task");
        assert!(started, "pg_ctl start");
        self.restarted = true;
    }
}

impl Drop for RestartableCluster {
    fn drop(&mut self) {
        if self.restarted {
            pg_ctl(&self.cluster.data_dir(), &["stop", "-m", "immediate", "-w"]);
        }
    }
}

/// Runs pg_ctl on `data` as the server's OS user; whether it succeeded.
fn pg_ctl(data: &std::path::Path, args: &[&str]) -> bool {
    let bin: PathBuf = PostgresBinaries::locate()
        .expect("PostgreSQL binaries")
        .bindir
        .join("pg_ctl");
    // SAFETY: geteuid has no preconditions and cannot fail.
    let mut command = match unsafe { libc::geteuid() } {
        0 => {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(bin);
            command
        }
        _ => Command::new(bin),
    };
    command
        .args(args)
        .arg("-D")
        .arg(data)
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The server over a database of `cluster`, with an admin's clients.
struct Served {
    ctx: AppContext,
    admin: Clients,
    channel: Channel,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// `through`: the port the server connects to (the cluster's, or a proxy's in front of it).
async fn serve(cluster: &RestartableCluster, through: u16, engine: EngineConfig) -> Served {
    let mut admin = AsyncPgConnection::establish(&cluster.url("postgres"))
        .await
        .expect("connecting to the cluster");
    admin
        .batch_execute("CREATE DATABASE oblique")
        .await
        .expect("creating the database");
    oblique::db::migrate::run_pending(&cluster.url("oblique"))
        .await
        .expect("migrating");
    let url = format!("postgres://postgres@127.0.0.1:{through}/oblique");
    let mut ctx = AppContext::new(
        oblique::db::connect_pool(&url, 8).expect("pool"),
        SecretKey::generate(),
        url.clone(),
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
    let token = issue_token(&ctx, "faults-admin").await;
    Served {
        admin: Clients::new(channel.clone(), Some(token)),
        ctx,
        channel,
        shutdown: Some(shutdown),
    }
}

async fn issue_token(ctx: &AppContext, name: &str) -> String {
    let mut conn = ctx.pool.get().await.expect("conn");
    token::issue(&mut conn, name, Role::Admin)
        .await
        .expect("issuing a token")
        .expose_secret()
        .to_string()
}

/// ListIntegrations with a deadline: what a caller sees of the database's state.
async fn list(clients: &Clients) -> Result<usize, tonic::Status> {
    let mut request = tonic::Request::new(pb::ListIntegrationsRequest::default());
    request.set_timeout(Duration::from_secs(30));
    let mut integrations = clients.integrations.clone();
    Ok(integrations
        .list_integrations(request)
        .await?
        .into_inner()
        .integrations
        .len())
}

/// Answers UNAVAILABLE, which tells a caller to retry; INTERNAL would say the server is broken.
#[track_caller]
fn assert_unavailable(result: Result<usize, tonic::Status>, what: &str) {
    match result {
        Ok(count) => panic!("{what}: answered OK ({count}) with the database gone"),
        Err(status) => assert_eq!(status.code(), Code::Unavailable, "{what}: {status:?}"),
    }
}

/// No workers: the initial run stays queued, for events the test emits on it.
fn idle_engine() -> EngineConfig {
    EngineConfig {
        workers: 0,
        schedule: Duration::from_secs(3600),
        ..test_engine()
    }
}

/// Emits a progress event on `run` and expects `stream` to deliver it live.
async fn sees_live_event(
    served: &Served,
    stream: &mut tonic::Streaming<pb::SyncEvent>,
    run_id: &str,
    processed: i64,
) {
    let run = Uuid::parse_str(run_id).expect("run id");
    let mut conn = served.ctx.pool.get().await.expect("a connection");
    let draft = EventDraft::new(EventKind::Progress).progress(processed);
    events::emit(&mut conn, run, draft)
        .await
        .expect("emitting an event");
    let event = tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("a live event")
        .expect("the stream")
        .expect("the stream goes on");
    assert_eq!(
        (event.run_id.as_str(), event.processed),
        (run_id, processed)
    );
}

async fn subscribe(served: &Served, integration_id: &str) -> tonic::Streaming<pb::SyncEvent> {
    served
        .admin
        .sync
        .clone()
        .subscribe_sync_events(pb::SubscribeSyncEventsRequest {
            integration_id: integration_id.to_string(),
        })
        .await
        .expect("subscribe")
        .into_inner()
}

/// Waits until the event listener listens on a connection newer than `generation`.
async fn listening_after(served: &Served, generation: u64) {
    let hub = served.ctx.hub.clone();
    eventually("the event listener to listen (again)", || async {
        (*hub.listening().borrow() > generation).then_some(())
    })
    .await;
}

/// Waits until calls succeed again, on the same server.
async fn answers_again(clients: &Clients) {
    eventually("the server to answer again", || async {
        list(clients).await.ok()
    })
    .await;
}

#[tokio::test]
async fn a_restarted_database_answers_unavailable_then_serves_again() {
    let mut cluster = RestartableCluster::start().await;
    let served = serve(&cluster, cluster.cluster.port(), idle_engine()).await;
    let created = served
        .admin
        .integrations
        .clone()
        .create_integration(create_request("restarted").await)
        .await
        .expect("create")
        .into_inner();
    assert_eq!(list(&served.admin).await.expect("list before"), 1);

    // Backends terminated by an administrator (57P01) between calls: the pooled connections
    // and the listener's are dead; the next calls are served on new ones.
    {
        let mut admin = AsyncPgConnection::establish(&cluster.url("postgres"))
            .await
            .expect("connecting as the superuser");
        admin
            .batch_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = 'oblique' AND pid <> pg_backend_pid()",
            )
            .await
            .expect("terminating the backends");
    }
    answers_again(&served.admin).await;

    // The cluster stopped: calls (with a known token, and with one the server must look up)
    // answer UNAVAILABLE within their deadline.
    let generation = *served.ctx.hub.listening().borrow();
    let fresh_token = issue_token(&served.ctx, "faults-fresh").await;
    cluster.stop().await;
    assert_unavailable(list(&served.admin).await, "a call with a known token");
    let fresh = Clients::new(served.channel.clone(), Some(fresh_token));
    assert_unavailable(list(&fresh).await, "a call whose token is looked up");
    let mut sync = served.admin.sync.clone();
    let trigger = sync
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: created.id.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(
        trigger
            .expect_err("TriggerSync with the database gone")
            .code(),
        Code::Unavailable
    );

    // Back on the same port: the same server answers, without a restart of its own.
    cluster.start_again().await;
    answers_again(&served.admin).await;
    assert_eq!(list(&fresh).await.expect("the looked-up token"), 1);

    // A stream opened once the listener is back sees live events.
    listening_after(&served, generation).await;
    let mut stream = subscribe(&served, &created.id).await;
    let run_id = created.last_sync_run.expect("the initial run").id;
    sees_live_event(&served, &mut stream, &run_id, 7).await;
}

/// A TCP proxy in front of the cluster that can silence the connections it carries: their
/// sockets stay open but nothing passes any more, as when the server's host or the network
/// vanishes without closing anything (a half-open connection). New connections pass.
struct SilencingProxy {
    port: u16,
    silence: Arc<watch::Sender<u64>>,
}

impl SilencingProxy {
    async fn start(target: u16) -> SilencingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let silence = Arc::new(watch::channel(0u64).0);
        let silencer = silence.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut silenced = silencer.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        // Both sockets stay open, unread, until the test ends.
                        _ = silenced.changed() => std::future::pending::<()>().await,
                    }
                });
            }
        });
        SilencingProxy { port, silence }
    }

    fn silence_open_connections(&self) {
        self.silence.send_modify(|generation| *generation += 1);
    }
}

#[tokio::test]
async fn half_open_connections_are_noticed_and_replaced() {
    let cluster = RestartableCluster::start().await;
    let proxy = SilencingProxy::start(cluster.cluster.port()).await;
    let served = serve(&cluster, proxy.port, idle_engine()).await;
    let created = served
        .admin
        .integrations
        .clone()
        .create_integration(create_request("half-open").await)
        .await
        .expect("create")
        .into_inner();
    assert_eq!(list(&served.admin).await.expect("list before"), 1);
    listening_after(&served, 0).await;
    let generation = *served.ctx.hub.listening().borrow();

    proxy.silence_open_connections();
    // The pooled connections and the listener's wait for answers that never come. Once the
    // pooled ones sat idle long enough to be checked before they are handed out, a call gets a
    // working connection within its deadline; the listener listens on a new one.
    tokio::time::sleep(IDLE_CHECK_AFTER + Duration::from_secs(1)).await;
    assert_eq!(
        list(&served.admin).await.expect("a call after the silence"),
        1
    );
    listening_after(&served, generation).await;
    let mut stream = subscribe(&served, &created.id).await;
    let run_id = created.last_sync_run.expect("the initial run").id;
    sees_live_event(&served, &mut stream, &run_id, 3).await;
}
