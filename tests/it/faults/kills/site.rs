//! Oblique on one test database, as the kill test runs it: an `oblique serve` that the test
//! calls throughout and never kills, and sync workers, each an `oblique serve` of its own, that
//! the test starts and kills. All of them share one data directory (the credentials key).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oblique::pb;
use tokio::sync::mpsc;

use crate::harness::Clients;
use crate::harness::servers::create_test_database;
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, wait_for_token};

/// Seconds a killed worker's run stays RUNNING: short, so that the kills cost little waiting,
/// and eight heartbeats long, so that a busy machine does not lose a live run's lease.
const LEASE_SECONDS: &str = "8";

/// Bound on waiting for a sync of the big remote, in a debug build on a busy machine.
pub const SYNC_DEADLINE: Duration = Duration::from_secs(600);

pub struct Site {
    name: &'static str,
    pub url: String,
    _database: DropDatabase,
    data: DataDir,
    logs: PathBuf,
    token: String,
    /// The server the test calls.
    pub api: Server,
    pub clients: Clients,
    workers_started: usize,
}

impl Site {
    /// A fresh database and its first server, with `sync_workers` (0: the API only).
    pub async fn new(name: &'static str, logs: &Path, sync_workers: usize) -> Site {
        let (database, url) = create_test_database().await;
        let database = DropDatabase(database);
        let data = DataDir::new();
        let log = logs.join(format!("{name}-api.log"));
        let mut api = serve(&data, &url, sync_workers, log);
        let token = wait_for_token(&mut api, &data.path().join("admin-token")).await;
        let clients = api.ready_clients(&token).await;
        Site {
            name,
            url,
            _database: database,
            data,
            logs: logs.to_path_buf(),
            token,
            api,
            clients,
            workers_started: 0,
        }
    }

    /// A new sync worker on the database, once it serves.
    pub async fn start_worker(&mut self) -> Server {
        self.workers_started += 1;
        let log = format!("{}-worker-{}.log", self.name, self.workers_started);
        let mut worker = serve(&self.data, &self.url, 2, self.logs.join(log));
        worker.ready_clients(&self.token).await;
        worker
    }

    /// The integration's runs, newest first.
    pub async fn runs(&self, integration_id: &str) -> Vec<pb::SyncRun> {
        self.clients
            .sync
            .clone()
            .list_sync_runs(pb::ListSyncRunsRequest {
                integration_id: integration_id.into(),
                page_size: 1000,
                ..Default::default()
            })
            .await
            .expect("ListSyncRuns")
            .into_inner()
            .runs
    }

    /// A manual run (or the one already queued or running).
    pub async fn trigger(&self, integration_id: &str) -> pb::SyncRun {
        self.clients
            .sync
            .clone()
            .trigger_sync(pb::TriggerSyncRequest {
                integration_id: integration_id.into(),
                ..Default::default()
            })
            .await
            .expect("TriggerSync")
            .into_inner()
    }

    /// The run's events as they arrive (those so far first), each with when it arrived.
    pub async fn follow(&self, run_id: &str) -> Follower {
        let mut stream = self
            .clients
            .sync
            .clone()
            .watch_sync_run(pb::WatchSyncRunRequest {
                run_id: run_id.into(),
            })
            .await
            .expect("WatchSyncRun")
            .into_inner();
        let (sender, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok(Some(event)) = stream.message().await {
                if sender.send((Instant::now(), event)).is_err() {
                    return;
                }
            }
        });
        Follower { events, task }
    }

    /// Waits until the integration has no run queued or running and its newest run succeeded,
    /// with `worker` running its runs; a run given up after its worker died three times is
    /// followed by a manual one. Returns that successful run.
    pub async fn settle(&self, worker: &mut Server, integration_id: &str) -> pb::SyncRun {
        use pb::SyncRunState::{Failed, Queued, Running, Succeeded};
        let deadline = Instant::now() + SYNC_DEADLINE;
        loop {
            let newest = self.runs(integration_id).await.remove(0);
            match newest.state() {
                Queued | Running => worker.tick("the runs to end", deadline).await,
                Succeeded => return newest,
                Failed if newest.error.contains("died 3 times") => {
                    self.trigger(integration_id).await;
                }
                _ => panic!("a run failed: {newest:?}"),
            }
        }
    }
}

fn serve(data: &DataDir, url: &str, sync_workers: usize, log: PathBuf) -> Server {
    let mut cmd = oblique(&data.path());
    cmd.env("DATABASE_URL", url)
        .env("OBLIQUE_SYNC_WORKERS", sync_workers.to_string())
        .env("OBLIQUE_SYNC_LEASE", LEASE_SECONDS);
    Server::start(cmd, log)
}

/// A run's events, read by a task of its own so that none waits for the test.
pub struct Follower {
    events: mpsc::UnboundedReceiver<(Instant, pb::SyncEvent)>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    /// The next event, when it arrived; `None` after the run's last.
    pub async fn next(&mut self) -> Option<(Instant, pb::SyncEvent)> {
        tokio::time::timeout(SYNC_DEADLINE, self.events.recv())
            .await
            .expect("the run made no progress")
    }

    /// The events that arrived and were not taken yet.
    pub fn arrived(&mut self) -> Vec<(Instant, pb::SyncEvent)> {
        std::iter::from_fn(|| self.events.try_recv().ok()).collect()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}
