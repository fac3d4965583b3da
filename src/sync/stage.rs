//! Staging: a run's own PostgreSQL connection with temporary tables that pages of remote objects
//! are copied into (binary COPY, never a round trip per row). The merge then applies the
//! difference from there. diesel-async has no COPY, so this connection is tokio-postgres; the
//! temporary tables vanish with it.

use std::pin::Pin;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

use crate::connectors::{ObjectProblem, RemoteAccess, RemoteAccount, RemoteResource};
use crate::sync::access_key::access_pair_key;

/// Which listing a problem came from; stored with it so that a known but unreadable object is
/// not soft deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Account,
    Resource,
    Access,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Account => "account",
            ObjectKind::Resource => "resource",
            ObjectKind::Access => "access",
        }
    }
}

/// Staged accounts, resources and memberships carry the ids their rows get if the merge inserts
/// them (and an account the id of the user made for it), UUIDv7s made here: generating them in
/// SQL costs microseconds per row, more than copying the row in.
const CREATE_TABLES: &str = "
    CREATE TEMP TABLE stage_accounts (
        id uuid NOT NULL, user_id uuid NOT NULL, external_id text NOT NULL,
        username text NOT NULL, email text, display_name text NOT NULL);
    CREATE TEMP TABLE stage_attributes (
        external_id text NOT NULL, name text NOT NULL, attribute_values text[] NOT NULL);
    CREATE TEMP TABLE stage_resources (
        id uuid NOT NULL, external_id text NOT NULL, resource_type text NOT NULL, name text NOT NULL,
        description text NOT NULL);
    CREATE TEMP TABLE stage_access (
        id uuid NOT NULL, resource_external_id text NOT NULL, account_external_id text NOT NULL,
        pair_key bigint NOT NULL);
    CREATE TEMP TABLE stage_problems (
        kind text NOT NULL, external_id text, object text NOT NULL, message text NOT NULL);";

/// A page of one listing, on its way into its staging table.
pub enum StagedPage {
    Accounts(Vec<RemoteAccount>),
    Resources(Vec<RemoteResource>),
    Access(Vec<RemoteAccess>),
}

/// The staging tables, with their COPY statements and column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Accounts,
    Attributes,
    Resources,
    Access,
    Problems,
}

impl Table {
    fn copy_statement(self) -> &'static str {
        match self {
            Table::Accounts => {
                "COPY stage_accounts (id, user_id, external_id, username, email, display_name) \
                 FROM STDIN BINARY"
            }
            Table::Attributes => {
                "COPY stage_attributes (external_id, name, attribute_values) FROM STDIN BINARY"
            }
            Table::Resources => {
                "COPY stage_resources (id, external_id, resource_type, name, description) \
                 FROM STDIN BINARY"
            }
            Table::Access => {
                "COPY stage_access (id, resource_external_id, account_external_id, pair_key) \
                 FROM STDIN BINARY"
            }
            Table::Problems => {
                "COPY stage_problems (kind, external_id, object, message) FROM STDIN BINARY"
            }
        }
    }

    fn types(self) -> &'static [Type] {
        const TEXT: Type = Type::TEXT;
        match self {
            Table::Accounts => &[Type::UUID, Type::UUID, TEXT, TEXT, TEXT, TEXT],
            Table::Attributes => &[TEXT, TEXT, Type::TEXT_ARRAY],
            Table::Resources => &[Type::UUID, TEXT, TEXT, TEXT, TEXT],
            Table::Access => &[Type::UUID, TEXT, TEXT, Type::INT8],
            Table::Problems => &[TEXT, TEXT, TEXT, TEXT],
        }
    }
}

/// Attributes waiting for their COPY while the accounts' one is open. A connection runs one
/// COPY at a time, and switching tables every page would end the stream every page.
const ATTRIBUTE_BATCH: usize = 20_000;

/// An account's attribute, staged: the account's external id, the name, the values.
type StagedAttribute = (String, String, Vec<String>);

pub struct Staging {
    client: Client,
    connection: tokio::task::JoinHandle<()>,
    /// The COPY rows are streaming into. It stays open from page to page, so that the server
    /// stores one page while the next is fetched, and ends when another table is written to or
    /// the listing is over (`finish`).
    open: Option<(Table, Pin<Box<BinaryCopyInWriter>>)>,
    attributes: Vec<StagedAttribute>,
}

impl Staging {
    pub async fn open(database_url: &str) -> anyhow::Result<Self> {
        let (client, connection) = tokio_postgres::connect(database_url, NoTls).await?;
        let connection = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "staging connection closed");
            }
        });
        client
            .batch_execute(
                "SET application_name = 'oblique-sync'; SET statement_timeout = 0; \
                 SET temp_buffers = '64MB'",
            )
            .await?;
        client.batch_execute(CREATE_TABLES).await?;
        Ok(Staging {
            client,
            connection,
            open: None,
            attributes: Vec::new(),
        })
    }

    /// The connection, for the merge; everything listed so far must have been `finish`ed.
    pub fn client(&mut self) -> &mut Client {
        debug_assert!(self.open.is_none() && self.attributes.is_empty());
        &mut self.client
    }

    pub async fn stage(&mut self, page: StagedPage) -> Result<(), tokio_postgres::Error> {
        match page {
            StagedPage::Accounts(accounts) => self.accounts(accounts).await,
            StagedPage::Resources(resources) => self.resources(&resources).await,
            StagedPage::Access(access) => self.access(&access).await,
        }
    }

    /// Ends the open COPY and writes the waiting attributes: the listing is complete.
    pub async fn finish(&mut self) -> Result<(), tokio_postgres::Error> {
        self.flush_attributes().await?;
        self.end_copy().await
    }

    async fn accounts(
        &mut self,
        mut accounts: Vec<RemoteAccount>,
    ) -> Result<(), tokio_postgres::Error> {
        let ids = new_ids(accounts.len() * 2);
        let rows: Vec<[&(dyn ToSql + Sync); 6]> = accounts
            .iter()
            .zip(ids.chunks_exact(2))
            .map(|(a, ids)| -> [&(dyn ToSql + Sync); 6] {
                [
                    &ids[0],
                    &ids[1],
                    &a.external_id,
                    &a.username,
                    &a.email,
                    &a.display_name,
                ]
            })
            .collect();
        self.write(Table::Accounts, &rows).await?;
        drop(rows);
        for account in &mut accounts {
            let mut names = std::collections::HashSet::new();
            for (name, values) in std::mem::take(&mut account.attributes) {
                // An account's attributes are a map: a name repeated keeps its first values,
                // so staged names repeat only for an account listed twice.
                if names.insert(name.clone()) {
                    self.attributes
                        .push((account.external_id.clone(), name, values));
                }
            }
        }
        if self.attributes.len() >= ATTRIBUTE_BATCH {
            self.flush_attributes().await?;
        }
        Ok(())
    }

    async fn flush_attributes(&mut self) -> Result<(), tokio_postgres::Error> {
        let attributes = std::mem::take(&mut self.attributes);
        let rows: Vec<[&(dyn ToSql + Sync); 3]> = attributes
            .iter()
            .map(|(external_id, name, values)| -> [&(dyn ToSql + Sync); 3] {
                [external_id, name, values]
            })
            .collect();
        self.write(Table::Attributes, &rows).await?;
        self.end_copy().await
    }

    async fn resources(
        &mut self,
        resources: &[RemoteResource],
    ) -> Result<(), tokio_postgres::Error> {
        let ids = new_ids(resources.len());
        let rows: Vec<[&(dyn ToSql + Sync); 5]> = resources
            .iter()
            .zip(&ids)
            .map(|(r, id)| -> [&(dyn ToSql + Sync); 5] {
                [
                    id,
                    &r.external_id,
                    &r.resource_type,
                    &r.name,
                    &r.description,
                ]
            })
            .collect();
        self.write(Table::Resources, &rows).await
    }

    async fn access(&mut self, access: &[RemoteAccess]) -> Result<(), tokio_postgres::Error> {
        let ids = new_ids(access.len());
        let keys: Vec<i64> = access
            .iter()
            .map(|a| access_pair_key(&a.resource_external_id, &a.account_external_id))
            .collect();
        let rows: Vec<[&(dyn ToSql + Sync); 4]> = access
            .iter()
            .zip(ids.iter().zip(&keys))
            .map(|(a, (id, key))| -> [&(dyn ToSql + Sync); 4] {
                [id, &a.resource_external_id, &a.account_external_id, key]
            })
            .collect();
        self.write(Table::Access, &rows).await
    }

    pub async fn problems(
        &mut self,
        kind: ObjectKind,
        problems: &[ObjectProblem],
    ) -> Result<(), tokio_postgres::Error> {
        let kind = kind.as_str();
        let rows: Vec<[&(dyn ToSql + Sync); 4]> = problems
            .iter()
            .map(|p| -> [&(dyn ToSql + Sync); 4] { [&kind, &p.external_id, &p.object, &p.message] })
            .collect();
        self.write(Table::Problems, &rows).await
    }

    /// Streams `rows` into `table`'s COPY, starting it (and ending another) when needed.
    async fn write<const N: usize>(
        &mut self,
        table: Table,
        rows: &[[&(dyn ToSql + Sync); N]],
    ) -> Result<(), tokio_postgres::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.open.as_ref().is_some_and(|(open, _)| *open != table) {
            self.end_copy().await?;
        }
        let writer = match &mut self.open {
            Some((_, writer)) => writer,
            None => {
                let sink = self.client.copy_in(table.copy_statement()).await?;
                let writer = Box::pin(BinaryCopyInWriter::new(sink, table.types()));
                &mut self.open.insert((table, writer)).1
            }
        };
        for row in rows {
            writer.as_mut().write(row).await?;
        }
        Ok(())
    }

    async fn end_copy(&mut self) -> Result<(), tokio_postgres::Error> {
        if let Some((_, mut writer)) = self.open.take() {
            writer.as_mut().finish().await?;
        }
        Ok(())
    }
}

fn new_ids(count: usize) -> Vec<Uuid> {
    (0..count).map(|_| Uuid::now_v7()).collect()
}

impl Drop for Staging {
    fn drop(&mut self) {
        // The client going away closes the connection; the task would end by itself, this makes
        // it prompt.
        self.connection.abort();
    }
}
