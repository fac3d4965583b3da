//! Throwaway PostgreSQL clusters: the product's own embedded server in its throwaway mode
//! (`EmbeddedPostgres::start_throwaway`: initdb, loopback TCP on a free port, trust, fsync off),
//! each in a temporary directory of its own that goes with it. One launcher for the integration
//! tests' servers, the connectors' unit tests, and the benchmark's database; [`remote`] dresses
//! one up as a remote system.
//!
//! Starting and stopping block (initdb, pg_ctl): async code uses [`ThrowawayCluster::start`]
//! and [`ThrowawayCluster::stop`], which run them on the blocking pool.

pub mod remote;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use anyhow::Context;
use oblique::db::embedded::EmbeddedPostgres;
use tempfile::TempDir;

use crate::keep_until_exit;

/// A running (or stopped) cluster whose superuser `postgres` needs no password. Dropping it
/// stops the server and removes its files, also while a failed test unwinds.
pub struct ThrowawayCluster {
    /// Before `dir`: fields drop in order, so the server stops before its files go. `None`
    /// only while [`ThrowawayCluster::stop`] has it on the blocking pool.
    server: Option<EmbeddedPostgres>,
    dir: TempDir,
    port: u16,
}

impl ThrowawayCluster {
    /// Starts a cluster in a new temporary directory whose name starts with `label` (so that a
    /// leftover says who left it). Blocking.
    pub fn start_blocking(label: &str) -> anyhow::Result<ThrowawayCluster> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{label}-"))
            .tempdir()
            .context("creating a directory for PostgreSQL")?;
        // As root, PostgreSQL runs as the `postgres` OS user, which must get through this
        // directory to the cluster's own (0700, its own).
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let server = EmbeddedPostgres::start_throwaway(&dir.path().join("pg"))
            .context("starting a throwaway PostgreSQL")?;
        let port = server.port();
        Ok(ThrowawayCluster {
            server: Some(server),
            dir,
            port,
        })
    }

    /// [`ThrowawayCluster::start_blocking`] from async code.
    pub async fn try_start(label: &str) -> anyhow::Result<ThrowawayCluster> {
        let label = label.to_string();
        tokio::task::spawn_blocking(move || ThrowawayCluster::start_blocking(&label)).await?
    }

    /// A cluster for one test; panics if it cannot start.
    pub async fn start() -> ThrowawayCluster {
        ThrowawayCluster::try_start("oblique-test")
            .await
            .unwrap_or_else(|error| panic!("{error:#}"))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's URL for `database`: postgres://postgres@127.0.0.1:PORT/DATABASE.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The cluster's data directory (postgresql.conf, pg_hba.conf), owned by the server's OS
    /// user.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("pg").join("data")
    }

    /// Stops the server now (the files stay until drop); panics if it cannot.
    pub async fn stop(&mut self) {
        let mut server = self.server.take().expect("the cluster's server");
        let server = tokio::task::spawn_blocking(move || server.stop().map(|()| server))
            .await
            .expect("the stopping task")
            .unwrap_or_else(|error| panic!("stopping PostgreSQL: {error}"));
        self.server = Some(server);
    }
}

/// Starts a cluster that lives until the process exits and returns its port: for servers a
/// whole test process shares. Blocking; panics if it cannot start.
pub fn start_throwaway(label: &str) -> u16 {
    let cluster = ThrowawayCluster::start_blocking(&format!("oblique-it-{label}"))
        .unwrap_or_else(|error| panic!("{error:#}"));
    let port = cluster.port();
    keep_until_exit(cluster);
    port
}
