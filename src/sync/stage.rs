//! Staging: a run's own PostgreSQL connection with temporary tables that pages of remote objects
//! are copied into (binary COPY, never a round trip per row). The merge then applies the
//! difference from there. diesel-async has no COPY, so this connection is tokio-postgres; the
//! temporary tables vanish with it.

use futures::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

use crate::connectors::{ObjectProblem, RemoteAccess, RemoteAccount, RemoteResource};

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

const CREATE_TABLES: &str = "
    CREATE TEMP TABLE stage_accounts (
        external_id text NOT NULL, username text NOT NULL, email text, display_name text NOT NULL);
    CREATE TEMP TABLE stage_attributes (
        external_id text NOT NULL, name text NOT NULL, attribute_values text[] NOT NULL);
    CREATE TEMP TABLE stage_resources (
        external_id text NOT NULL, resource_type text NOT NULL, name text NOT NULL,
        description text NOT NULL);
    CREATE TEMP TABLE stage_access (
        resource_external_id text NOT NULL, account_external_id text NOT NULL);
    CREATE TEMP TABLE stage_problems (
        kind text NOT NULL, external_id text, object text NOT NULL, message text NOT NULL);";

/// A page of one listing, on its way into its staging table.
pub enum StagedPage {
    Accounts(Vec<RemoteAccount>),
    Resources(Vec<RemoteResource>),
    Access(Vec<RemoteAccess>),
}

pub struct Staging {
    client: Client,
    connection: tokio::task::JoinHandle<()>,
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
        Ok(Staging { client, connection })
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    pub async fn stage(&self, page: StagedPage) -> Result<(), tokio_postgres::Error> {
        match page {
            StagedPage::Accounts(accounts) => self.accounts(&accounts).await,
            StagedPage::Resources(resources) => self.resources(&resources).await,
            StagedPage::Access(access) => self.access(&access).await,
        }
    }

    async fn accounts(&self, accounts: &[RemoteAccount]) -> Result<(), tokio_postgres::Error> {
        let rows: Vec<[&(dyn ToSql + Sync); 4]> = accounts
            .iter()
            .map(|a| -> [&(dyn ToSql + Sync); 4] {
                [&a.external_id, &a.username, &a.email, &a.display_name]
            })
            .collect();
        self.copy(
            "stage_accounts (external_id, username, email, display_name)",
            &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
            &rows,
        )
        .await?;
        let attributes: Vec<[&(dyn ToSql + Sync); 3]> = accounts
            .iter()
            .flat_map(|a| {
                a.attributes
                    .iter()
                    .map(move |(name, values)| -> [&(dyn ToSql + Sync); 3] {
                        [&a.external_id, name, values]
                    })
            })
            .collect();
        self.copy(
            "stage_attributes (external_id, name, attribute_values)",
            &[Type::TEXT, Type::TEXT, Type::TEXT_ARRAY],
            &attributes,
        )
        .await
    }

    async fn resources(&self, resources: &[RemoteResource]) -> Result<(), tokio_postgres::Error> {
        let rows: Vec<[&(dyn ToSql + Sync); 4]> = resources
            .iter()
            .map(|r| -> [&(dyn ToSql + Sync); 4] {
                [&r.external_id, &r.resource_type, &r.name, &r.description]
            })
            .collect();
        self.copy(
            "stage_resources (external_id, resource_type, name, description)",
            &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
            &rows,
        )
        .await
    }

    async fn access(&self, access: &[RemoteAccess]) -> Result<(), tokio_postgres::Error> {
        let rows: Vec<[&(dyn ToSql + Sync); 2]> = access
            .iter()
            .map(|a| -> [&(dyn ToSql + Sync); 2] {
                [&a.resource_external_id, &a.account_external_id]
            })
            .collect();
        self.copy(
            "stage_access (resource_external_id, account_external_id)",
            &[Type::TEXT, Type::TEXT],
            &rows,
        )
        .await
    }

    pub async fn problems(
        &self,
        kind: ObjectKind,
        problems: &[ObjectProblem],
    ) -> Result<(), tokio_postgres::Error> {
        let kind = kind.as_str();
        let rows: Vec<[&(dyn ToSql + Sync); 4]> = problems
            .iter()
            .map(|p| -> [&(dyn ToSql + Sync); 4] { [&kind, &p.external_id, &p.object, &p.message] })
            .collect();
        self.copy(
            "stage_problems (kind, external_id, object, message)",
            &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
            &rows,
        )
        .await
    }

    async fn copy<const N: usize>(
        &self,
        target: &str,
        types: &[Type],
        rows: &[[&(dyn ToSql + Sync); N]],
    ) -> Result<(), tokio_postgres::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let sink = self
            .client
            .copy_in(&format!("COPY {target} FROM STDIN BINARY"))
            .await?;
        let writer = BinaryCopyInWriter::new(sink, types);
        pin_mut!(writer);
        for row in rows {
            writer.as_mut().write(row).await?;
        }
        writer.finish().await?;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // The client going away closes the connection; the task would end by itself, this makes
        // it prompt.
        self.connection.abort();
    }
}
