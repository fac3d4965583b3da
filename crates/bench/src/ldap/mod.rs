//! `oblique-bench --ldap`: the `ldap` connector's initial sync through the real engine against a
//! throwaway OpenLDAP slapd, next to what reading and writing the same data costs at the least:
//! a paged `ldapsearch` dumping the same entries, and a raw binary COPY of the rows the sync
//! landed.
//!
//! This module runs the steps in order and keeps what they measured ([`LdapReport`]); the
//! directory it generates is in [`directory`], the server and `ldapsearch` in [`server`], the
//! COPY baseline in [`copy`], and the printing in `report`.

mod copy;
mod directory;
mod report;
mod server;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use oblique::connectors::{IntegrationKind, Setup};
use oblique::db::integrations;
use oblique::db::models::{IntegrationRow, NewIntegration};
use oblique::engine::Engine;
use oblique::model::run_stats::RunStats;
use oblique_testkit::slapd::Slapd;
use tokio_postgres::Client;
use uuid::Uuid;

use super::measure::{TableWrites, settled_writes};
use super::{Landed, claim_run, landed, measuring_client, pull, settle, start_engine};
pub use copy::LdapCopy;
pub use directory::LdapSizes;
pub use server::{PAGE_SIZE, ROOT_DN, SEARCH_FILTER, SUFFIX, ldapsearch};
use server::{ROOT_PASSWORD, slapd_config};

const WORKER: &str = "oblique-bench/ldap";

/// The timed LDAP sync.
#[derive(Debug, Clone)]
pub struct LdapRun {
    pub elapsed: Duration,
    pub stats: RunStats,
    pub writes: TableWrites,
}

/// Everything the LDAP mode measured.
#[derive(Debug, Clone)]
pub struct LdapReport {
    pub sizes: LdapSizes,
    pub slapadd: Duration,
    pub sync: LdapRun,
    pub ldapsearch: Duration,
    pub copy: LdapCopy,
    pub landed: Landed,
}

impl LdapReport {
    /// What a complete sync of the generated directory lands.
    pub fn expected(&self) -> Landed {
        self.sizes.expected()
    }
}

/// Runs the LDAP mode against the (fresh) database at `database_url`.
pub async fn run(database_url: &str, sizes: LdapSizes) -> anyhow::Result<LdapReport> {
    sizes.check()?;
    let step = |what: &str| eprintln!("oblique-bench: {what}");
    step("generating and loading the LDAP directory");
    let started = Instant::now();
    let slapd = tokio::task::spawn_blocking(move || {
        Slapd::start(&slapd_config(), |out| directory::write_ldif(out, &sizes))
            .context("starting slapd over the generated directory")
    })
    .await??;
    let url = slapd.url();
    let slapadd = started.elapsed();

    let engine = start_engine(database_url).await?;
    let mut client = measuring_client(database_url).await?;
    let (integration, setup) = create_integration(&engine, &url).await?;

    // A first, untimed dump warms slapd and the page cache for both readers alike.
    step("ldapsearch (warm-up)");
    let dump = url.clone();
    tokio::task::spawn_blocking(move || ldapsearch(&dump)).await??;
    step("ldapsearch (timed)");
    let dump = url.clone();
    let ldapsearch = tokio::task::spawn_blocking(move || ldapsearch(&dump)).await??;

    step("ldap initial sync");
    settle(&client).await?;
    let sync = sync(&engine, &integration, &setup, &client).await?;
    let landed = landed(&client, integration.id).await?;

    step("COPY baseline of the landed rows");
    let copy = copy::copy_baseline(&mut client, integration.id).await?;
    drop(slapd);
    Ok(LdapReport {
        sizes,
        slapadd,
        sync,
        ldapsearch,
        copy,
        landed,
    })
}

/// An `ldap` integration reading the server at `url` as the root DN, set up as a user would
/// (checked against the connector's setup fields, credentials sealed), paging like `ldapsearch`.
async fn create_integration(
    engine: &Arc<Engine>,
    url: &str,
) -> anyhow::Result<(IntegrationRow, Setup)> {
    let config: BTreeMap<String, String> = [
        ("url", url),
        // A throwaway server on 127.0.0.1: nothing crosses a network.
        ("allow_plaintext", "true"),
        ("bind_dn", ROOT_DN),
        ("base_dn", SUFFIX),
        ("user_base", &format!("ou=people,{SUFFIX}")),
        ("group_base", &format!("ou=groups,{SUFFIX}")),
        ("page_size", &PAGE_SIZE.to_string()),
        ("timeout", "600"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let credentials = [("bind_password".to_string(), ROOT_PASSWORD.to_string())]
        .into_iter()
        .collect();
    let kind = IntegrationKind::Ldap;
    let setup = Setup::check(kind.setup_fields(), config, credentials)
        .map_err(|error| anyhow::anyhow!("the benchmark's ldap setup: {error:?}"))?;
    let id = Uuid::now_v7();
    let mut conn = engine.pool.get().await?;
    let integration = integrations::insert(
        &mut conn,
        &NewIntegration {
            id,
            integration_type: kind.name().to_string(),
            name: "oblique-bench-ldap".into(),
            config: serde_json::json!(setup.config),
            credentials_ciphertext: Some(engine.keys.seal(id, &setup.credentials)?),
            create_resources_for_new_teams: false,
            sync_interval_seconds: 3600,
            max_deletion_percent: 100,
            create_request_id: None,
            link_users_by: oblique::model::LinkUsersBy::Email,
        },
    )
    .await?;
    Ok((integration, setup))
}

/// Queues, claims and runs the connector's initial sync, timing `pull_from`.
async fn sync(
    engine: &Arc<Engine>,
    integration: &IntegrationRow,
    setup: &Setup,
    client: &Client,
) -> anyhow::Result<LdapRun> {
    let before = settled_writes(client).await?;
    let run = claim_run(engine, integration.id, WORKER).await?;
    let connector = IntegrationKind::Ldap
        .connector(setup)
        .map_err(|error| anyhow::anyhow!("building the ldap connector: {error:?}"))?;
    let started = Instant::now();
    let stats = pull(engine, WORKER, &run, integration, connector).await?;
    let elapsed = started.elapsed();
    let writes = settled_writes(client).await?.since(&before);
    Ok(LdapRun {
        elapsed,
        stats,
        writes,
    })
}
