//! The physical baseline: the rows an initial sync lands (users, accounts, attributes, resources,
//! access), binary-COPYed straight into tables with the synced tables' columns, keys, indexes and
//! defaults, one COPY per table, in one committed transaction. It is what landing those rows
//! costs at the least.
//!
//! `LIKE … INCLUDING ALL` copies no foreign keys, so the baseline's tables (`bench_fk_*`) declare
//! exactly the synced tables' own. Since migration `2026-12-04-000019` the synced tables have
//! none left (accounts and resources lost theirs to integrations and users, as account_attributes
//! and pulled_access had before), so the two variants differ only in where the users are
//! COPYed: first, in the same transaction (`bench_fk_*`), or in a transaction of their own after
//! the rest (`bench_*`). Earlier figures in README.md were measured with those keys declared.

use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::SinkExt;
use oblique::engine::access_key::{PairKeys, SECRET_BYTES};
use oblique::engine::copy_rows::CopyRows;
use tokio_postgres::{Client, CopyInSink, Transaction};
use uuid::Uuid;

use super::synthetic::Directory;

const CREATE_TABLES: &str = "
    DROP TABLE IF EXISTS bench_accounts, bench_account_attributes, bench_resources,
        bench_pulled_access, bench_users, bench_fk_pulled_access, bench_fk_account_attributes,
        bench_fk_accounts, bench_fk_resources, bench_fk_users;
    CREATE TABLE bench_accounts (LIKE accounts INCLUDING ALL);
    CREATE TABLE bench_account_attributes (LIKE account_attributes INCLUDING ALL);
    CREATE TABLE bench_resources (LIKE resources INCLUDING ALL);
    CREATE TABLE bench_pulled_access (LIKE pulled_access INCLUDING ALL);
    CREATE TABLE bench_users (LIKE users INCLUDING ALL);
    CREATE TABLE bench_fk_users (LIKE users INCLUDING ALL);
    CREATE TABLE bench_fk_accounts (LIKE accounts INCLUDING ALL);
    CREATE TABLE bench_fk_account_attributes (LIKE account_attributes INCLUDING ALL);
    CREATE TABLE bench_fk_resources (LIKE resources INCLUDING ALL);
    CREATE TABLE bench_fk_pulled_access (LIKE pulled_access INCLUDING ALL);";

/// How long each part took, and how many rows each table got.
#[derive(Debug, Clone, Default)]
pub struct CopyBaseline {
    /// The baseline: users, accounts, attributes, resources and access, with the synced tables'
    /// foreign keys, in one transaction, from the first COPY to the commit.
    pub total: Duration,
    pub per_table: Vec<(&'static str, u64, Duration)>,
    /// Accounts, attributes, resources and access without foreign keys, COPY to commit.
    pub without_foreign_keys: Duration,
    pub per_table_without_foreign_keys: Vec<(&'static str, u64, Duration)>,
    /// The users for the variant without foreign keys, in a transaction of their own.
    pub users_without_foreign_keys: Duration,
}

pub async fn create_tables(client: &Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(CREATE_TABLES).await
}

/// COPYs the directory's rows (generated again, as the sync got them) into the tables without
/// foreign keys, then the users in a transaction of their own.
pub async fn run_plain(
    client: &mut Client,
    directory: &Directory,
    integration_id: Uuid,
    result: &mut CopyBaseline,
) -> Result<(), tokio_postgres::Error> {
    let copier = Copier {
        directory,
        integration_id,
    };
    let started = Instant::now();
    let tx = client.transaction().await?;
    let user_ids = new_ids(directory.sizes.accounts);
    let steps = &mut result.per_table_without_foreign_keys;
    copier
        .synced_tables(&tx, "bench_", &user_ids, steps)
        .await?;
    steps.push(commit(tx).await?);
    result.without_foreign_keys = started.elapsed();

    let started = Instant::now();
    let tx = client.transaction().await?;
    copier.users(&tx, "bench_users", &user_ids).await?;
    commit(tx).await?;
    result.users_without_foreign_keys = started.elapsed();
    Ok(())
}

/// The baseline: the same rows, users first, into the tables with the synced tables' foreign
/// keys, in one transaction.
pub async fn run_with_foreign_keys(
    client: &mut Client,
    directory: &Directory,
    integration_id: Uuid,
    result: &mut CopyBaseline,
) -> Result<(), tokio_postgres::Error> {
    let copier = Copier {
        directory,
        integration_id,
    };
    let started = Instant::now();
    let steps = &mut result.per_table;
    let tx = client.transaction().await?;
    let user_ids = new_ids(directory.sizes.accounts);
    steps.push(copier.users(&tx, "bench_fk_users", &user_ids).await?);
    copier
        .synced_tables(&tx, "bench_fk_", &user_ids, steps)
        .await?;
    steps.push(commit(tx).await?);
    result.total = started.elapsed();
    Ok(())
}

type Step = (&'static str, u64, Duration);

/// The baseline's tables are its own: any secret costs the same to key pairs with.
const PAIR_KEY_SECRET: [u8; SECRET_BYTES] = [0x5a; SECRET_BYTES];

fn new_ids(n: u64) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::now_v7()).collect()
}

async fn commit(tx: Transaction<'_>) -> Result<Step, tokio_postgres::Error> {
    let started = Instant::now();
    tx.commit().await?;
    Ok(("(commit)", 0, started.elapsed()))
}

struct Copier<'a> {
    directory: &'a Directory,
    integration_id: Uuid,
}

impl Copier<'_> {
    /// Accounts, their attributes, resources and access, into the tables named `{prefix}…`.
    async fn synced_tables(
        &self,
        tx: &Transaction<'_>,
        prefix: &str,
        user_ids: &[Uuid],
        steps: &mut Vec<Step>,
    ) -> Result<(), tokio_postgres::Error> {
        let table = |name: &str| format!("{prefix}{name}");
        let (account_ids, step) = self.accounts(tx, &table("accounts"), user_ids).await?;
        steps.push(step);
        steps.push(
            self.attributes(tx, &table("account_attributes"), &account_ids)
                .await?,
        );
        let (resource_ids, step) = self.resources(tx, &table("resources")).await?;
        steps.push(step);
        steps.push(
            self.access(tx, &table("pulled_access"), &resource_ids, &account_ids)
                .await?,
        );
        Ok(())
    }

    async fn users(
        &self,
        tx: &Transaction<'_>,
        table: &str,
        user_ids: &[Uuid],
    ) -> Result<Step, tokio_postgres::Error> {
        let started = Instant::now();
        let mut copy = Copy::start(tx, table, "id, email, username, display_name").await?;
        for (i, id) in user_ids.iter().enumerate() {
            let a = self.directory.account(i as u64);
            copy.rows
                .row(4)
                .uuid(id)
                .nullable_text(a.email.as_deref())
                .text(&a.username)
                .text(&a.display_name);
            copy.send_if_full().await?;
        }
        Ok(("users", copy.finish().await?, started.elapsed()))
    }

    /// Returns the accounts' ids, which attributes and access refer to.
    async fn accounts(
        &self,
        tx: &Transaction<'_>,
        table: &str,
        user_ids: &[Uuid],
    ) -> Result<(Vec<Uuid>, Step), tokio_postgres::Error> {
        let started = Instant::now();
        let columns = "id, integration_id, user_id, external_id, username, email, display_name";
        let mut copy = Copy::start(tx, table, columns).await?;
        let mut ids = Vec::with_capacity(user_ids.len());
        for (i, user_id) in user_ids.iter().enumerate() {
            let a = self.directory.account(i as u64);
            let id = Uuid::now_v7();
            copy.rows
                .row(7)
                .uuid(&id)
                .uuid(&self.integration_id)
                .uuid(user_id)
                .text(&a.external_id)
                .text(&a.username)
                .nullable_text(a.email.as_deref())
                .text(&a.display_name);
            copy.send_if_full().await?;
            ids.push(id);
        }
        let rows = copy.finish().await?;
        Ok((ids, ("accounts", rows, started.elapsed())))
    }

    async fn attributes(
        &self,
        tx: &Transaction<'_>,
        table: &str,
        account_ids: &[Uuid],
    ) -> Result<Step, tokio_postgres::Error> {
        let started = Instant::now();
        let mut copy = Copy::start(tx, table, "account_id, name, attribute_values").await?;
        for (i, id) in account_ids.iter().enumerate() {
            for (name, values) in self.directory.account(i as u64).attributes {
                copy.rows.row(3).uuid(id).text(&name).text_array(&values);
            }
            copy.send_if_full().await?;
        }
        let rows = copy.finish().await?;
        Ok(("account_attributes", rows, started.elapsed()))
    }

    /// Returns the resources' ids, which access refers to.
    async fn resources(
        &self,
        tx: &Transaction<'_>,
        table: &str,
    ) -> Result<(Vec<Uuid>, Step), tokio_postgres::Error> {
        let started = Instant::now();
        let columns = "id, integration_id, external_id, resource_type, name, description";
        let mut copy = Copy::start(tx, table, columns).await?;
        let mut ids = Vec::with_capacity(self.directory.sizes.resources as usize);
        for j in 0..self.directory.sizes.resources {
            let r = self.directory.resource(j);
            let id = Uuid::now_v7();
            copy.rows
                .row(6)
                .uuid(&id)
                .uuid(&self.integration_id)
                .text(&r.external_id)
                .text(r.resource_type.as_str())
                .text(&r.name)
                .text(&r.description);
            copy.send_if_full().await?;
            ids.push(id);
        }
        let rows = copy.finish().await?;
        Ok((ids, ("resources", rows, started.elapsed())))
    }

    async fn access(
        &self,
        tx: &Transaction<'_>,
        table: &str,
        resource_ids: &[Uuid],
        account_ids: &[Uuid],
    ) -> Result<Step, tokio_postgres::Error> {
        let started = Instant::now();
        let columns = "id, integration_id, resource_id, account_id, pair_key";
        let mut copy = Copy::start(tx, table, columns).await?;
        let pair_keys = PairKeys::new(&PAIR_KEY_SECRET);
        for k in 0..self.directory.sizes.access {
            let (resource, account) = self.directory.access_pair(k);
            let pair = self.directory.access(k);
            copy.rows
                .row(5)
                .uuid(&Uuid::now_v7())
                .uuid(&self.integration_id)
                .uuid(&resource_ids[resource as usize])
                .uuid(&account_ids[account as usize])
                .int8(pair_keys.key(&pair.resource_external_id, &pair.account_external_id));
            copy.send_if_full().await?;
        }
        let rows = copy.finish().await?;
        Ok(("pulled_access", rows, started.elapsed()))
    }
}

/// One table's COPY, encoded as the sync's staging encodes its own.
struct Copy {
    sink: Pin<Box<CopyInSink<Bytes>>>,
    rows: CopyRows,
}

impl Copy {
    async fn start(
        tx: &Transaction<'_>,
        table: &str,
        columns: &str,
    ) -> Result<Self, tokio_postgres::Error> {
        let statement = format!("COPY {table} ({columns}) FROM STDIN BINARY");
        Ok(Copy {
            sink: Box::pin(tx.copy_in(&statement).await?),
            rows: CopyRows::new(),
        })
    }

    async fn send_if_full(&mut self) -> Result<(), tokio_postgres::Error> {
        if self.rows.len() >= 64 * 1024 {
            self.sink.send(self.rows.take()).await?;
        }
        Ok(())
    }

    /// Sends the rest and ends the COPY; answers the rows stored.
    async fn finish(mut self) -> Result<u64, tokio_postgres::Error> {
        self.sink.send(self.rows.finish()).await?;
        self.sink.as_mut().finish().await
    }
}
