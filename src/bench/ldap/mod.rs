//! `oblique-bench --ldap`: the `ldap` connector's initial sync through the real engine against a
//! throwaway OpenLDAP slapd, next to what reading and writing the same data costs at the least:
//! a paged `ldapsearch` dumping the same entries, and a raw binary COPY of the rows the sync
//! landed.
//!
//! The directory is generated as LDIF (base entries, N inetOrgPerson users under `ou=people`, M
//! groupOfNames under `ou=groups`, the memberships spread evenly over the groups) and loaded
//! with `slapadd -q` before slapd starts: a throwaway [`Slapd`] (see [`super::slapd`]) without
//! size limit, stopped and removed when it is dropped, also on error.
//!
//! The COPY baseline reads the rows the sync landed (accounts, account_attributes, resources,
//! pulled_access) out with `COPY (SELECT …) TO STDOUT (FORMAT binary)` beforehand, untimed, and
//! times only COPYing them into `LIKE … INCLUDING ALL` tables (keys, indexes and defaults; no
//! foreign keys) in one committed transaction.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, TryStreamExt, pin_mut};
use tokio_postgres::{Client, NoTls};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Landed;
use super::measure::{TableWrites, settled_writes};
use super::slapd::{Slapd, SlapdConfig};
use crate::connectors::{IntegrationKind, Setup};
use crate::context::AppContext;
use crate::crypto::SecretKey;
use crate::db::models::{IntegrationRow, NewIntegration, NewSyncRun};
use crate::db::{connect_pool, integrations, migrate};
use crate::sync::stats::RunStats;
use crate::sync::{Engine, EngineConfig, queue, runner};

const WORKER: &str = "oblique-bench/ldap";
const LEASE: Duration = Duration::from_secs(24 * 3600);

pub const SUFFIX: &str = "dc=example,dc=org";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PASSWORD: &str = "bench-Secret-91f3";
/// What `ldapsearch` dumps: the users and groups the sync reads.
pub const SEARCH_FILTER: &str = "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))";
/// Entries per page, for `ldapsearch` and the connector alike.
pub const PAGE_SIZE: u16 = 500;

/// How big the generated directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LdapSizes {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
}

impl LdapSizes {
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.users > 0 && self.groups > 0,
            "--ldap-users and --ldap-groups must be at least 1"
        );
        anyhow::ensure!(
            self.memberships >= self.groups,
            "--ldap-memberships {} is fewer than --ldap-groups {}: each group needs a member",
            self.memberships,
            self.groups
        );
        anyhow::ensure!(
            self.memberships.div_ceil(self.groups) <= self.users,
            "--ldap-memberships {} is too many: a group can have at most {} members",
            self.memberships,
            self.users
        );
        Ok(())
    }

    /// Member slots per group (the last ones of some groups stay empty).
    fn slots(&self) -> u64 {
        self.memberships.div_ceil(self.groups)
    }

    /// The members (user indexes) of group `g`: slots `s` with `s * groups + g < memberships`,
    /// slot `s` being user `(g + s * stride) mod users`, distinct since the stride is coprime
    /// with the user count and there are at most `users` slots.
    fn members(&self, g: u64, stride: u64) -> impl Iterator<Item = u64> + '_ {
        (0..self.slots())
            .filter(move |s| s * self.groups + g < self.memberships)
            .map(move |s| (g + s * stride) % self.users)
    }

    fn stride(&self) -> u64 {
        let mut stride = 7919;
        while gcd(stride, self.users) != 1 {
            stride += 1;
        }
        stride
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Attribute rows per account: the connector's `dn`, and the 7 generated attributes besides uid
/// and mail that it copies by default (cn, givenName, sn, title, departmentNumber, employeeType,
/// telephoneNumber).
const USER_ATTRIBUTES: u64 = 8;

fn user_dn(i: u64) -> String {
    format!("uid=user{i},ou=people,{SUFFIX}")
}

/// Writes the whole directory as LDIF.
fn write_ldif(out: &mut dyn Write, sizes: &LdapSizes) -> std::io::Result<()> {
    write!(
        out,
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\n\
         o: Example\n\n\
         dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n"
    )?;
    for i in 0..sizes.users {
        write!(
            out,
            "dn: {}\nobjectClass: inetOrgPerson\nuid: user{i}\ncn: User {i}\n\
             givenName: User\nsn: Number{i}\nmail: user{i}@example.org\n\
             title: Engineer {}\ndepartmentNumber: D{}\nemployeeType: staff\n\
             telephoneNumber: +1 555 {i:07}\n\n",
            user_dn(i),
            i % 10,
            i % 50
        )?;
    }
    let stride = sizes.stride();
    for g in 0..sizes.groups {
        write!(
            out,
            "dn: cn=group{g},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: group{g}\n\
             description: Group {g}\n"
        )?;
        for member in sizes.members(g, stride) {
            writeln!(out, "member: {}", user_dn(member))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The benchmark's server: the generated directory bulk-loaded, no size limit (the connector
/// pages anyway, and `ldapsearch` binds as the root DN), everything readable by everyone, and an
/// objectClass index, which the connector's and `ldapsearch`'s filters use.
fn slapd_config() -> SlapdConfig {
    SlapdConfig {
        name: "oblique-bench-slapd",
        suffix: SUFFIX.to_string(),
        root_dn: ROOT_DN.to_string(),
        root_password: ROOT_PASSWORD.to_string(),
        size_limit: None,
        // Room for millions of memberships.
        max_size: 4 << 30,
        indexes: vec!["objectClass eq".to_string()],
        access: vec!["* by * read".to_string()],
    }
}

/// The paged `ldapsearch` of every user and group, output to /dev/null: its wall time.
/// Blocking.
pub fn ldapsearch(url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = Command::new("/usr/bin/ldapsearch")
        .args([
            "-x",
            "-H",
            url,
            "-D",
            ROOT_DN,
            "-w",
            ROOT_PASSWORD,
            "-b",
            SUFFIX,
        ])
        .args(["-E", &format!("pr={PAGE_SIZE}/noprompt"), SEARCH_FILTER])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .context("running /usr/bin/ldapsearch")?;
    let elapsed = started.elapsed();
    anyhow::ensure!(status.success(), "ldapsearch failed: {status}");
    Ok(elapsed)
}

/// The timed LDAP sync.
#[derive(Debug, Clone)]
pub struct LdapRun {
    pub elapsed: Duration,
    pub stats: RunStats,
    pub writes: TableWrites,
}

/// The COPY baseline: per table, rows and time; the total from the first COPY to the commit.
#[derive(Debug, Clone, Default)]
pub struct LdapCopy {
    pub total: Duration,
    pub per_table: Vec<(&'static str, u64, Duration)>,
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
        let s = &self.sizes;
        Landed {
            accounts: s.users as i64,
            attributes: (s.users * USER_ATTRIBUTES) as i64,
            resources: s.groups as i64,
            access: s.memberships as i64,
            users: s.users as i64,
        }
    }
}

/// Runs the LDAP mode against the (fresh) database at `database_url`.
pub async fn run(database_url: &str, sizes: LdapSizes) -> anyhow::Result<LdapReport> {
    sizes.check()?;
    let step = |what: &str| eprintln!("oblique-bench: {what}");
    step("generating and loading the LDAP directory");
    let started = Instant::now();
    let slapd = tokio::task::spawn_blocking(move || {
        Slapd::start(&slapd_config(), |out| write_ldif(out, &sizes))
            .context("starting slapd over the generated directory")
    })
    .await??;
    let url = slapd.url();
    let slapadd = started.elapsed();

    migrate::run_pending(database_url).await?;
    let pool = connect_pool(database_url, 4)?;
    let ctx = AppContext::new(
        pool.clone(),
        SecretKey::generate(),
        database_url.to_string(),
    );
    let engine = Engine::new(ctx, EngineConfig::default());
    let (client, connection) = tokio_postgres::connect(database_url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "benchmark connection closed");
        }
    });
    client
        .batch_execute("SET application_name = 'oblique-bench'; SET statement_timeout = 0")
        .await?;
    let mut client = client;

    let config: BTreeMap<String, String> = [
        ("url", url.as_str()),
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
    let credentials: BTreeMap<String, String> =
        [("bind_password".to_string(), ROOT_PASSWORD.to_string())].into();
    let kind = IntegrationKind::Ldap;
    let setup = Setup::check(kind.setup_fields(), config, credentials)
        .map_err(|error| anyhow::anyhow!("the benchmark's ldap setup: {error:?}"))?;
    let id = Uuid::now_v7();
    let integration = {
        let mut conn = pool.get().await?;
        integrations::insert(
            &mut conn,
            &NewIntegration {
                id,
                integration_type: kind.name().to_string(),
                name: "oblique-bench-ldap".into(),
                config: serde_json::json!(setup.config),
                credentials_ciphertext: Some(engine.ctx.secret_key.seal(id, &setup.credentials)?),
                create_resources_for_new_teams: false,
                sync_interval_seconds: 3600,
                max_deletion_percent: 100,
                create_request_id: None,
            },
        )
        .await?
    };

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
    let copy = copy_baseline(&mut client, integration.id).await?;
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

/// Synced tables vacuumed and analysed, dirty buffers written out (CHECKPOINT needs a superuser;
/// skipped without one), as the synthetic benchmark does before each timed part.
async fn settle(client: &Client) -> anyhow::Result<()> {
    client
        .batch_execute(
            "VACUUM (ANALYZE) accounts, account_attributes, resources, pulled_access, users",
        )
        .await?;
    if let Err(error) = client.batch_execute("CHECKPOINT").await {
        tracing::debug!(%error, "CHECKPOINT skipped");
    }
    Ok(())
}

async fn sync(
    engine: &Arc<Engine>,
    integration: &IntegrationRow,
    setup: &Setup,
    client: &Client,
) -> anyhow::Result<LdapRun> {
    let before = settled_writes(client).await?;
    let run = {
        let mut conn = engine.ctx.pool.get().await?;
        let queued = queue::enqueue(
            &mut conn,
            &NewSyncRun {
                id: Uuid::now_v7(),
                integration_id: integration.id,
                trigger: "manual",
                dry_run: false,
                allow_mass_deletion: false,
                requested_by: "oblique-bench",
            },
        )
        .await?;
        let claimed = queue::claim(&mut conn, WORKER, LEASE)
            .await?
            .context("the queued run could not be claimed")?;
        anyhow::ensure!(claimed.id == queued.id, "claimed another run than queued");
        claimed
    };
    let connector = IntegrationKind::Ldap
        .connector(setup)
        .map_err(|error| anyhow::anyhow!("building the ldap connector: {error:?}"))?;
    let started = Instant::now();
    let stats = runner::pull_from(
        engine,
        WORKER,
        &run,
        integration,
        connector,
        &CancellationToken::new(),
    )
    .await
    .map_err(|stopped| anyhow::anyhow!("the sync run stopped: {stopped:?}"))?;
    let elapsed = started.elapsed();
    let writes = settled_writes(client).await?.since(&before);
    Ok(LdapRun {
        elapsed,
        stats,
        writes,
    })
}

async fn landed(client: &Client, integration_id: Uuid) -> anyhow::Result<Landed> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM accounts WHERE integration_id = $1),
                    (SELECT count(*) FROM account_attributes aa
                     JOIN accounts a ON a.id = aa.account_id WHERE a.integration_id = $1),
                    (SELECT count(*) FROM resources WHERE integration_id = $1),
                    (SELECT count(*) FROM pulled_access WHERE integration_id = $1),
                    (SELECT count(*) FROM users)",
            &[&integration_id],
        )
        .await?;
    Ok(Landed {
        accounts: row.get(0),
        attributes: row.get(1),
        resources: row.get(2),
        access: row.get(3),
        users: row.get(4),
    })
}

/// Reads the landed rows out (untimed), creates `LIKE … INCLUDING ALL` tables, then times the
/// binary COPY of those rows into them, in one committed transaction.
async fn copy_baseline(client: &mut Client, integration_id: Uuid) -> anyhow::Result<LdapCopy> {
    let id = integration_id;
    let sources: [(&'static str, &str, String); 4] = [
        (
            "accounts",
            "bench_ldap_accounts",
            format!("SELECT * FROM accounts WHERE integration_id = '{id}'"),
        ),
        (
            "account_attributes",
            "bench_ldap_account_attributes",
            format!(
                "SELECT aa.* FROM account_attributes aa JOIN accounts a ON a.id = aa.account_id \
                 WHERE a.integration_id = '{id}'"
            ),
        ),
        (
            "resources",
            "bench_ldap_resources",
            format!("SELECT * FROM resources WHERE integration_id = '{id}'"),
        ),
        (
            "pulled_access",
            "bench_ldap_pulled_access",
            format!("SELECT * FROM pulled_access WHERE integration_id = '{id}'"),
        ),
    ];
    let mut data = Vec::new();
    for (table, copy_table, select) in &sources {
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {copy_table};
                 CREATE TABLE {copy_table} (LIKE {table} INCLUDING ALL)"
            ))
            .await?;
        let stream = client
            .copy_out(&format!("COPY ({select}) TO STDOUT (FORMAT binary)"))
            .await?;
        let chunks: Vec<_> = stream.try_collect().await?;
        data.push(chunks);
    }
    settle(client).await?;

    let mut result = LdapCopy::default();
    let started = Instant::now();
    let tx = client.transaction().await?;
    for ((table, copy_table, _), chunks) in sources.iter().zip(data) {
        let step = Instant::now();
        let sink = tx
            .copy_in(&format!("COPY {copy_table} FROM STDIN (FORMAT binary)"))
            .await?;
        pin_mut!(sink);
        for chunk in chunks {
            sink.send(chunk).await?;
        }
        let rows = sink.finish().await?;
        result.per_table.push((*table, rows, step.elapsed()));
    }
    let step = Instant::now();
    tx.commit().await?;
    result.per_table.push(("(commit)", 0, step.elapsed()));
    result.total = started.elapsed();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::LdapSizes;

    #[test]
    fn spreads_memberships_evenly_and_uniquely() {
        let sizes = LdapSizes {
            users: 20,
            groups: 3,
            memberships: 10,
        };
        sizes.check().unwrap();
        let stride = sizes.stride();
        let mut total = 0;
        for g in 0..sizes.groups {
            let mut members: Vec<u64> = sizes.members(g, stride).collect();
            assert!(!members.is_empty());
            assert!(members.len() >= 3 && members.len() <= 4);
            total += members.len();
            members.sort();
            members.dedup();
            assert_eq!(members.len(), sizes.members(g, stride).count());
        }
        assert_eq!(total, 10);
    }
}
