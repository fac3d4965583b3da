//! The physical baseline: the rows an initial sync lands, binary-COPYed straight into tables with
//! the synced tables' columns, keys, indexes and defaults (`LIKE … INCLUDING ALL`; no foreign
//! keys), in one committed transaction. It is what landing those rows costs at the least.

use std::time::{Duration, Instant};

use futures::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};
use uuid::Uuid;

use super::synthetic::Directory;

const CREATE_TABLES: &str = "
    DROP TABLE IF EXISTS bench_accounts, bench_account_attributes, bench_resources,
        bench_pulled_access, bench_users;
    CREATE TABLE bench_accounts (LIKE accounts INCLUDING ALL);
    CREATE TABLE bench_account_attributes (LIKE account_attributes INCLUDING ALL);
    CREATE TABLE bench_resources (LIKE resources INCLUDING ALL);
    CREATE TABLE bench_pulled_access (LIKE pulled_access INCLUDING ALL);
    CREATE TABLE bench_users (LIKE users INCLUDING ALL);";

/// How long each part took, and how many rows each table got.
#[derive(Debug, Clone, Default)]
pub struct CopyBaseline {
    /// accounts, attributes, resources and access, COPY to commit.
    pub total: Duration,
    pub per_table: Vec<(&'static str, u64, Duration)>,
    /// The users the initial sync also makes, in a transaction of their own.
    pub users: Duration,
}

pub async fn create_tables(client: &Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(CREATE_TABLES).await
}

/// COPYs the directory's rows (generated again, as the sync got them) and commits.
pub async fn run(
    client: &mut Client,
    directory: &Directory,
    integration_id: Uuid,
) -> Result<CopyBaseline, tokio_postgres::Error> {
    let sizes = directory.sizes;
    let mut result = CopyBaseline::default();
    let started = Instant::now();
    let tx = client.transaction().await?;

    // Ids are kept only for the objects the next tables refer to.
    let mut account_ids = Vec::with_capacity(sizes.accounts as usize);
    let mut user_ids = Vec::with_capacity(sizes.accounts as usize);
    let mut table = Timer::new("accounts");
    let writer = copy_in(
        &tx,
        "bench_accounts (id, integration_id, user_id, external_id, username, email, display_name)",
        &[
            Type::UUID,
            Type::UUID,
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
    )
    .await?;
    pin_mut!(writer);
    for i in 0..sizes.accounts {
        let a = directory.account(i);
        let (id, user_id) = (Uuid::now_v7(), Uuid::now_v7());
        account_ids.push(id);
        user_ids.push(user_id);
        writer
            .as_mut()
            .write(&[
                &id,
                &integration_id,
                &user_id,
                &a.external_id,
                &a.username,
                &a.email,
                &a.display_name,
            ])
            .await?;
    }
    table.rows = writer.finish().await?;
    result.per_table.push(table.done());

    let mut table = Timer::new("account_attributes");
    let writer = copy_in(
        &tx,
        "bench_account_attributes (account_id, name, attribute_values)",
        &[Type::UUID, Type::TEXT, Type::TEXT_ARRAY],
    )
    .await?;
    pin_mut!(writer);
    for (i, id) in account_ids.iter().enumerate() {
        for (name, values) in directory.account(i as u64).attributes {
            writer.as_mut().write(&[id, &name, &values]).await?;
        }
    }
    table.rows = writer.finish().await?;
    result.per_table.push(table.done());

    let mut resource_ids = Vec::with_capacity(sizes.resources as usize);
    let mut table = Timer::new("resources");
    let writer = copy_in(
        &tx,
        "bench_resources (id, integration_id, external_id, resource_type, name, description)",
        &[
            Type::UUID,
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
    )
    .await?;
    pin_mut!(writer);
    for j in 0..sizes.resources {
        let r = directory.resource(j);
        let id = Uuid::now_v7();
        resource_ids.push(id);
        let row: [&(dyn ToSql + Sync); 6] = [
            &id,
            &integration_id,
            &r.external_id,
            &r.resource_type,
            &r.name,
            &r.description,
        ];
        writer.as_mut().write(&row).await?;
    }
    table.rows = writer.finish().await?;
    result.per_table.push(table.done());

    let mut table = Timer::new("pulled_access");
    let writer = copy_in(
        &tx,
        "bench_pulled_access (id, integration_id, resource_id, account_id)",
        &[Type::UUID, Type::UUID, Type::UUID, Type::UUID],
    )
    .await?;
    pin_mut!(writer);
    for k in 0..sizes.access {
        let (resource, account) = directory.access_pair(k);
        let id = Uuid::now_v7();
        let row: [&(dyn ToSql + Sync); 4] = [
            &id,
            &integration_id,
            &resource_ids[resource as usize],
            &account_ids[account as usize],
        ];
        writer.as_mut().write(&row).await?;
    }
    table.rows = writer.finish().await?;
    result.per_table.push(table.done());
    let committing = Instant::now();
    tx.commit().await?;
    result.per_table.push(("(commit)", 0, committing.elapsed()));
    result.total = started.elapsed();

    result.users = copy_users(client, directory, &user_ids).await?;
    Ok(result)
}

async fn copy_users(
    client: &mut Client,
    directory: &Directory,
    user_ids: &[Uuid],
) -> Result<Duration, tokio_postgres::Error> {
    let started = Instant::now();
    let tx = client.transaction().await?;
    let writer = copy_in(
        &tx,
        "bench_users (id, email, username, display_name)",
        &[Type::UUID, Type::TEXT, Type::TEXT, Type::TEXT],
    )
    .await?;
    pin_mut!(writer);
    for (i, id) in user_ids.iter().enumerate() {
        let a = directory.account(i as u64);
        writer
            .as_mut()
            .write(&[id, &a.email, &a.username, &a.display_name])
            .await?;
    }
    writer.finish().await?;
    tx.commit().await?;
    Ok(started.elapsed())
}

async fn copy_in(
    tx: &Transaction<'_>,
    target: &str,
    types: &[Type],
) -> Result<BinaryCopyInWriter, tokio_postgres::Error> {
    let sink = tx
        .copy_in(&format!("COPY {target} FROM STDIN BINARY"))
        .await?;
    Ok(BinaryCopyInWriter::new(sink, types))
}

struct Timer {
    table: &'static str,
    rows: u64,
    started: Instant,
}

impl Timer {
    fn new(table: &'static str) -> Self {
        Timer {
            table,
            rows: 0,
            started: Instant::now(),
        }
    }

    fn done(self) -> (&'static str, u64, Duration) {
        (self.table, self.rows, self.started.elapsed())
    }
}
