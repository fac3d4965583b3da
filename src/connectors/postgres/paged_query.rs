//! Running one listing query and streaming its rows as pages, so that memory stays bounded
//! however many roles a cluster has.

use std::pin::Pin;

use futures::stream::Fuse;
use futures::{StreamExt, TryStreamExt};
use tokio_postgres::{Client, Row, RowStream};

use super::connect::{answer, connect};
use super::errors::map_error;
use super::settings::PostgresSettings;
use crate::connectors::{ConnectorError, PageStream};

/// Items per page; the engine stages each page before asking for the next.
pub(super) const PAGE_SIZE: usize = 1000;

/// Reads one row into an item; a failure means the query and the reader disagree on a column.
pub(super) type ReadRow<T> = fn(&Row) -> Result<T, tokio_postgres::Error>;

/// Streams `sql`, run on a connection of its own with the role pattern (or NULL) bound to `$1`,
/// as pages of at most [`PAGE_SIZE`] items. A failure is one `Err` page, after which the stream
/// ends: the engine must not mistake the rows it never got for deleted ones.
pub(super) fn paged_query<T: Send + 'static>(
    settings: &PostgresSettings,
    sql: &'static str,
    read: ReadRow<T>,
) -> PageStream<'static, T> {
    futures::stream::unfold(
        Cursor::Unopened(settings.clone()),
        move |cursor| async move {
            let mut rows = match cursor {
                Cursor::Finished => return None,
                Cursor::Unopened(settings) => match Rows::open(settings, sql).await {
                    Ok(rows) => rows,
                    Err(error) => return Some((Err(error), Cursor::Finished)),
                },
                Cursor::Open(rows) => rows,
            };
            let page = match rows.next_page().await {
                Ok(page) if page.is_empty() => return None,
                Ok(page) => page,
                Err(error) => return Some((Err(error), Cursor::Finished)),
            };
            let items: Result<Vec<_>, _> = page.iter().map(|row| read(row).map(Ok)).collect();
            match items {
                Ok(items) => Some((Ok(items), Cursor::Open(rows))),
                Err(error) => {
                    let message =
                        format!("cannot read a row of pg_roles / pg_auth_members: {error}");
                    Some((Err(ConnectorError::Remote(message)), Cursor::Finished))
                }
            }
        },
    )
    .boxed()
}

enum Cursor {
    Unopened(PostgresSettings),
    Open(Rows),
    Finished,
}

/// A query whose rows are being received.
struct Rows {
    settings: PostgresSettings,
    /// Kept so the connection stays open until the listing is dropped.
    _client: Client,
    /// Fused: a RowStream polled again after its end fails with "connection closed".
    stream: Pin<Box<Fuse<RowStream>>>,
}

impl Rows {
    async fn open(settings: PostgresSettings, sql: &str) -> Result<Rows, ConnectorError> {
        let client = connect(&settings).await?;
        // A remote's statistics can be far from its catalogs: right after roles are made in bulk,
        // before autovacuum analyses pg_authid and pg_auth_members, the planner believes in a
        // handful of roles and joins pg_auth_members with the listed roles in a nested loop
        // over every (account, membership) pair, minutes on a large cluster before the first
        // row. Hash and merge joins take about the same time whatever the statistics say.
        // Session-level: the connection is this listing's own.
        answer(&settings, client.batch_execute("SET enable_nestloop = off"))
            .await?
            .map_err(|error| map_error(&error, &settings))?;
        let pattern = settings.role_pattern.as_deref();
        // query_raw, unlike query, hands rows over as the server sends them.
        let stream = answer(&settings, client.query_raw(sql, [pattern]))
            .await?
            .map_err(|error| map_error(&error, &settings))?;
        Ok(Rows {
            settings,
            _client: client,
            stream: Box::pin(stream.fuse()),
        })
    }

    /// The next rows, at most [`PAGE_SIZE`] of them; none once the query is done.
    async fn next_page(&mut self) -> Result<Vec<Row>, ConnectorError> {
        let stream = &mut self.stream;
        let receive = async move {
            let mut page = Vec::new();
            while page.len() < PAGE_SIZE {
                match stream.try_next().await? {
                    Some(row) => page.push(row),
                    None => break,
                }
            }
            Ok(page)
        };
        answer(&self.settings, receive)
            .await?
            .map_err(|error| map_error(&error, &self.settings))
    }
}
