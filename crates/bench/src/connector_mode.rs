//! What the connector modes (`--ldap`, `--scim`, `--mysql`) share: a seeded server of the
//! type, and the round run against it on a fresh database. A mode only starts and seeds its
//! server and reads it the plainest way it can ([`SeededServer`]); the round is the same for
//! all: create the integration, time the plain read, time the engine's sync, count what landed,
//! time the COPY of the landed rows.
//!
//! The server is seeded once (untimed) and serves every round: rounds differ only in their
//! database, which is where the engine's work lands.

use std::time::{Duration, Instant};

pub use crate::mode_names::{BenchSetup, ModeNames};

use crate::connector_report::ConnectorReport;
use crate::connector_sync::ConnectorSync;
use crate::directory_sizes::DirectorySizes;
use crate::measure::proc_status_mb;
use crate::{landed_copy, measuring_client, start_engine};

/// A running server of one integration type holding the generated directory.
#[async_trait::async_trait]
pub trait SeededServer: Send + Sync {
    fn names(&self) -> &'static ModeNames;

    /// The integration's config and credentials.
    fn setup(&self) -> BenchSetup;

    /// The read half of the floor: the same data read the plainest way (the round times it).
    /// Fails unless it read everything seeded.
    async fn plain_read(&self) -> anyhow::Result<()>;

    /// How [`SeededServer::plain_read`] reads, for the report.
    fn describe_read(&self) -> String;
}

/// A seeded server, ready for rounds.
pub struct Prepared {
    pub server: Box<dyn SeededServer>,
    pub sizes: DirectorySizes,
    /// How long starting and seeding the server took (not part of any ratio).
    pub seeding: Duration,
}

/// Starts and seeds a server with `start` (a mode's, for `sizes`), then reads it once,
/// untimed, so that the plain read and the sync meet the same warmed server.
pub async fn prepare<S: SeededServer + 'static>(
    sizes: DirectorySizes,
    start: impl Future<Output = anyhow::Result<S>>,
) -> anyhow::Result<Prepared> {
    sizes.check()?;
    let started = Instant::now();
    let server = start.await?;
    let seeding = started.elapsed();
    let prefix = server.names().prefix;
    let peak = || proc_status_mb("VmHWM").unwrap_or_default();
    eprintln!(
        "oblique-bench: {prefix}: plain read (warm-up; peak RSS after seeding {:.1} MB)",
        peak()
    );
    server.plain_read().await?;
    eprintln!(
        "oblique-bench: {prefix}: ready (peak RSS so far {:.1} MB)",
        peak()
    );
    Ok(Prepared {
        server: Box::new(server),
        sizes,
        seeding,
    })
}

/// One round against the (fresh) database at `database_url`.
pub async fn run_round(database_url: &str, prepared: &Prepared) -> anyhow::Result<ConnectorReport> {
    let server = prepared.server.as_ref();
    let names = server.names();
    // With the peak RSS so far: what each step added to it shows where `peak_rss_mb` comes from.
    let step = |what: &str| {
        let peak = proc_status_mb("VmHWM").unwrap_or_default();
        eprintln!(
            "oblique-bench: {}: {what} (peak RSS so far {peak:.1} MB)",
            names.prefix
        );
    };
    let engine = start_engine(database_url).await?;
    let mut client = measuring_client(database_url).await?;
    let setup = server.setup();
    let sync = ConnectorSync::create(&engine, names.kind, &setup).await?;
    step("plain read (timed)");
    let started = Instant::now();
    server.plain_read().await?;
    let read = started.elapsed();
    step("initial sync");
    let run = sync.run(&engine, &client).await?;
    let landed = sync.landed(&client).await?;
    step("COPY baseline of the landed rows");
    let copy = landed_copy::copy_baseline(&mut client, sync.integration_id()).await?;
    // Not part of the ratio: what a scheduled sync of an unchanged directory costs, where
    // everything listed is compared with what is stored (LDAP members matched in staging).
    step("no-change re-sync");
    let resync = sync.run(&engine, &client).await?;
    step("done");
    Ok(ConnectorReport {
        names,
        sizes: prepared.sizes,
        seeding: prepared.seeding,
        read,
        read_description: server.describe_read(),
        sync: run,
        resync,
        copy,
        landed,
    })
}
