//! The physical baseline: the rows an initial sync lands (users, accounts, attributes, resources,
//! access), binary-COPYed straight into tables with the synced tables' columns, keys, indexes and
//! defaults, one COPY per table, in one committed transaction. It is what landing those rows
//! costs at the least.
//!
//! `LIKE … INCLUDING ALL` copies no foreign keys, so the baseline's tables (`bench_fk_*`) declare
//! exactly the synced tables' own (accounts to integrations and users, attributes to accounts,
//! resources to integrations; pulled_access has none). A second variant (`bench_*`) has none at
//! all, so that their checks can be told apart from the rest of the engine's cost.

use std::time::{Duration, Instant};

use futures::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};
use uuid::Uuid;

use super::synthetic::Directory;
use crate::sync::access_key::access_pair_key;

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
    CREATE TABLE bench_fk_accounts (LIKE accounts INCLUDING ALL,
        FOREIGN KEY (integration_id) REFERENCES integrations (id),
        FOREIGN KEY (user_id) REFERENCES bench_fk_users (id));
    CREATE TABLE bench_fk_account_attributes (LIKE account_attributes INCLUDING ALL,
        FOREIGN KEY (account_id) REFERENCES bench_fk_accounts (id));
    CREATE TABLE bench_fk_resources (LIKE resources INCLUDING ALL,
        FOREIGN KEY (integration_id) REFERENCES integrations (id));
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
    let (account_ids, step) = copier.accounts(&tx, "bench_accounts", &user_ids).await?;
    result.per_table_without_foreign_keys.push(step);
    result.per_table_without_foreign_keys.push(
        copier
            .attributes(&tx, "bench_account_attributes", &account_ids)
            .await?,
    );
    let (resource_ids, step) = copier.resources(&tx, "bench_resources").await?;
    result.per_table_without_foreign_keys.push(step);
    result.per_table_without_foreign_keys.push(
        copier
            .access(&tx, "bench_pulled_access", &resource_ids, &account_ids)
            .await?,
    );
    result
        .per_table_without_foreign_keys
        .push(commit(tx).await?);
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
    let (account_ids, step) = copier.accounts(&tx, "bench_fk_accounts", &user_ids).await?;
    steps.push(step);
    steps.push(
        copier
            .attributes(&tx, "bench_fk_account_attributes", &account_ids)
            .await?,
    );
    let (resource_ids, step) = copier.resources(&tx, "bench_fk_resources").await?;
    steps.push(step);
    steps.push(
        copier
            .access(&tx, "bench_fk_pulled_access", &resource_ids, &account_ids)
            .await?,
    );
    steps.push(commit(tx).await?);
    result.total = started.elapsed();
    Ok(())
}

type Step = (&'static str, u64, Duration);

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
    async fn users(
        &self,
        tx: &Transaction<'_>,
        table: &'static str,
        user_ids: &[Uuid],
    ) -> Result<Step, tokio_postgres::Error> {
        let started = Instant::now();
        let columns = "id, email, username, display_name";
        let writer = copy_in(
            tx,
            table,
            columns,
            &[Type::UUID, Type::TEXT, Type::TEXT, Type::TEXT],
        )
        .await?;
        pin_mut!(writer);
        for (i, id) in user_ids.iter().enumerate() {
            let a = self.directory.account(i as u64);
            let row: [&(dyn ToSql + Sync); 4] = [id, &a.email, &a.username, &a.display_name];
            writer.as_mut().write(&row).await?;
        }
        Ok(("users", writer.finish().await?, started.elapsed()))
    }

    /// Returns the accounts' ids, which attributes and access refer to.
    async fn accounts(
        &self,
        tx: &Transaction<'_>,
        table: &'static str,
        user_ids: &[Uuid],
    ) -> Result<(Vec<Uuid>, Step), tokio_postgres::Error> {
        let started = Instant::now();
        let columns = "id, integration_id, user_id, external_id, username, email, display_name";
        let types = [
            Type::UUID,
            Type::UUID,
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ];
        let writer = copy_in(tx, table, columns, &types).await?;
        pin_mut!(writer);
        let mut ids = Vec::with_capacity(user_ids.len());
        for (i, user_id) in user_ids.iter().enumerate() {
            let a = self.directory.account(i as u64);
            let id = Uuid::now_v7();
            let row: [&(dyn ToSql + Sync); 7] = [
                &id,
                &self.integration_id,
                user_id,
                &a.external_id,
                &a.username,
                &a.email,
                &a.display_name,
            ];
            writer.as_mut().write(&row).await?;
            ids.push(id);
        }
        let rows = writer.finish().await?;
        Ok((ids, ("accounts", rows, started.elapsed())))
    }

    async fn attributes(
        &self,
        tx: &Transaction<'_>,
        table: &'static str,
        account_ids: &[Uuid],
    ) -> Result<Step, tokio_postgres::Error> {
        let started = Instant::now();
        let columns = "account_id, name, attribute_values";
        let types = [Type::UUID, Type::TEXT, Type::TEXT_ARRAY];
        let writer = copy_in(tx, table, columns, &types).await?;
        pin_mut!(writer);
        for (i, id) in account_ids.iter().enumerate() {
            for (name, values) in self.directory.account(i as u64).attributes {
                let row: [&(dyn ToSql + Sync); 3] = [id, &name, &values];
                writer.as_mut().write(&row).await?;
            }
        }
        let rows = writer.finish().await?;
        Ok(("account_attributes", rows, started.elapsed()))
    }

    /// Returns the resources' ids, which access refers to.
    async fn resources(
        &self,
        tx: &Transaction<'_>,
        table: &'static str,
    ) -> Result<(Vec<Uuid>, Step), tokio_postgres::Error> {
        let started = Instant::now();
        let columns = "id, integration_id, external_id, resource_type, name, description";
        let types = [
            Type::UUID,
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ];
        let writer = copy_in(tx, table, columns, &types).await?;
        pin_mut!(writer);
        let mut ids = Vec::with_capacity(self.directory.sizes.resources as usize);
        for j in 0..self.directory.sizes.resources {
            let r = self.directory.resource(j);
            let id = Uuid::now_v7();
            let row: [&(dyn ToSql + Sync); 6] = [
                &id,
                &self.integration_id,
                &r.external_id,
                &r.resource_type,
                &r.name,
                &r.description,
            ];
            writer.as_mut().write(&row).await?;
            ids.push(id);
        }
        let rows = writer.finish().await?;
        Ok((ids, ("resources", rows, started.elapsed())))
    }

    async fn access(
        &self,
        tx: &Transaction<'_>,
        table: &'static str,
        resource_ids: &[Uuid],
        account_ids: &[Uuid],
    ) -> Result<Step, tokio_postgres::Error> {
        let started = Instant::now();
        let columns = "id, integration_id, resource_id, account_id, pair_key";
        let types = [Type::UUID, Type::UUID, Type::UUID, Type::UUID, Type::INT8];
        let writer = copy_in(tx, table, columns, &types).await?;
        pin_mut!(writer);
        for k in 0..self.directory.sizes.access {
            let (resource, account) = self.directory.access_pair(k);
            let pair = self.directory.access(k);
            let pair_key = access_pair_key(&pair.resource_external_id, &pair.account_external_id);
            let id = Uuid::now_v7();
            let row: [&(dyn ToSql + Sync); 5] = [
                &id,
                &self.integration_id,
                &resource_ids[resource as usize],
                &account_ids[account as usize],
                &pair_key,
            ];
            writer.as_mut().write(&row).await?;
        }
        let rows = writer.finish().await?;
        Ok(("pulled_access", rows, started.elapsed()))
    }
}

async fn copy_in(
    tx: &Transaction<'_>,
    table: &str,
    columns: &str,
    types: &[Type],
) -> Result<BinaryCopyInWriter, tokio_postgres::Error> {
    let sink = tx
        .copy_in(&format!("COPY {table} ({columns}) FROM STDIN BINARY"))
        .await?;
    Ok(BinaryCopyInWriter::new(sink, types))
}
