//! Streaming one listing as pages, by key: each page is one query for the rows after the last
//! key seen, so memory stays bounded however many accounts a server has, and no statement holds
//! the grant tables for longer than a page takes to read.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row, Value};

use super::catalog::Listing;
use super::connect::{answer, connect, disconnect};
use super::errors::map_error;
use super::flavour::Flavour;
use super::settings::MysqlSettings;
use crate::connectors::{ConnectorError, Listed, PageStream};

/// Rows per page. Each page is a query, and MariaDB spent ~3.5 ms a query beyond its rows
/// (`oblique-bench --mysql`: 120 pages of 1,000 took ~1 s, 25 of 5,000 ~0.6 s); a page of grants
/// is about half a megabyte here, which the engine stages while the next is read.
pub(super) const PAGE_SIZE: usize = 5000;

/// Reads one row into an item (or the object's problem); an `Err` means the query and the
/// reader disagree on a column, which fails the listing.
pub(super) type ReadRow<T> = fn(&Row) -> Result<Listed<T>, String>;

/// Streams `listing` as pages of at most [`PAGE_SIZE`] items, on a connection of its own. A
/// failure is one `Err` page, after which the stream ends: the engine must not mistake the rows
/// it never got for deleted ones.
pub(super) fn keyset_pages<T: Send + 'static>(
    settings: &MysqlSettings,
    listing: &'static Listing,
    read: ReadRow<T>,
) -> PageStream<'static, T> {
    let start = Cursor::Unopened(settings.clone());
    Box::pin(futures::stream::unfold(start, move |cursor| async move {
        let mut open = match cursor {
            Cursor::Finished => return None,
            Cursor::Unopened(settings) => match Open::new(settings, listing).await {
                Ok(open) => open,
                Err(error) => return Some((Err(error), Cursor::Finished)),
            },
            Cursor::Open(open) => open,
        };
        let rows = match open.next_rows().await {
            Ok(rows) => rows,
            Err(error) => return Some((Err(error), Cursor::Finished)),
        };
        if rows.is_empty() {
            disconnect(open.conn).await;
            return None;
        }
        let items: Result<Vec<_>, String> = rows.iter().map(read).collect();
        let items = match items {
            Ok(items) => items,
            Err(error) => {
                let message = format!("cannot read a row of the mysql tables: {error}");
                return Some((Err(ConnectorError::Remote(message)), Cursor::Finished));
            }
        };
        let next = match open.advance(&rows) {
            Err(error) => return Some((Err(error), Cursor::Finished)),
            Ok(true) => Cursor::Open(open),
            Ok(false) => {
                disconnect(open.conn).await;
                Cursor::Finished
            }
        };
        Some((Ok(items), next))
    }))
}

enum Cursor {
    Unopened(MysqlSettings),
    Open(Open),
    Finished,
}

/// A listing under way: its connection and the last key read.
struct Open {
    settings: MysqlSettings,
    conn: Conn,
    sql: &'static str,
    listing: &'static Listing,
    /// The positions of the key's columns.
    key_columns: &'static [usize],
    /// The last row's key; empty strings before the first page (no listed name is empty).
    key: Vec<String>,
}

impl Open {
    async fn new(
        settings: MysqlSettings,
        listing: &'static Listing,
    ) -> Result<Open, ConnectorError> {
        let mut conn = connect(&settings).await?;
        let flavour = Flavour::detect(&mut conn, &settings).await?;
        Ok(Open {
            sql: listing.sql(flavour),
            key_columns: listing.key(flavour),
            key: vec![String::new(); listing.key(flavour).len()],
            settings,
            conn,
            listing,
        })
    }

    /// The rows after the last key, at most a page of them.
    async fn next_rows(&mut self) -> Result<Vec<Row>, ConnectorError> {
        let mut params = Vec::new();
        if self.listing.uses_pattern {
            let pattern = match &self.settings.user_pattern {
                Some(pattern) => Value::from(pattern.as_str()),
                None => Value::NULL,
            };
            params.extend([pattern.clone(), pattern]);
        }
        params.extend(key_params(&self.key));
        params.push(Value::from(PAGE_SIZE as u64));
        let query = self.conn.exec(self.sql, Params::Positional(params));
        answer(&self.settings, query)
            .await?
            .map_err(|error| map_error(&error, &self.settings))
    }

    /// Remembers the last key of `rows`; whether another page may follow.
    fn advance(&mut self, rows: &[Row]) -> Result<bool, ConnectorError> {
        let Some(last) = rows.last() else {
            return Ok(false);
        };
        self.key = self
            .key_columns
            .iter()
            .map(|&index| text(last, index))
            .collect::<Result<_, _>>()
            .map_err(|error| ConnectorError::Remote(format!("cannot read a row's key: {error}")))?;
        Ok(rows.len() == PAGE_SIZE)
    }
}

/// The last key's columns as the spelled-out comparison `a > ? OR (a = ? AND (b > ? OR (b = ?
/// AND c > ?)))` binds them: every column but the last twice.
fn key_params(key: &[String]) -> Vec<Value> {
    let last = key.len().saturating_sub(1);
    key.iter()
        .enumerate()
        .flat_map(|(index, part)| {
            let times = if index == last { 1 } else { 2 };
            std::iter::repeat_n(Value::from(part.as_str()), times)
        })
        .collect()
}

/// Column `index` as text: names are never NULL and always UTF-8 (utf8mb3 columns).
pub(super) fn text(row: &Row, index: usize) -> Result<String, String> {
    match row.get_opt::<String, usize>(index) {
        Some(Ok(text)) => Ok(text),
        Some(Err(error)) => Err(format!("column {index}: {error}")),
        None => Err(format!("column {index} is missing")),
    }
}

/// Column `index` as text, `None` when NULL.
pub(super) fn optional_text(row: &Row, index: usize) -> Result<Option<String>, String> {
    match row.get_opt::<Option<String>, usize>(index) {
        Some(Ok(text)) => Ok(text),
        Some(Err(error)) => Err(format!("column {index}: {error}")),
        None => Err(format!("column {index} is missing")),
    }
}

/// Column `index` as a whole number.
pub(super) fn number(row: &Row, index: usize) -> Result<i64, String> {
    match row.get_opt::<i64, usize>(index) {
        Some(Ok(number)) => Ok(number),
        Some(Err(error)) => Err(format!("column {index}: {error}")),
        None => Err(format!("column {index} is missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_columns_but_the_last_are_bound_twice() {
        let key = ["%", "ann", "admins"].map(String::from);
        let bound: Vec<Value> = ["%", "%", "ann", "ann", "admins"]
            .into_iter()
            .map(Value::from)
            .collect();
        assert_eq!(key_params(&key), bound);
    }

    /// Each listing binds as many values as its SQL has placeholders.
    #[test]
    fn every_listing_binds_what_its_sql_asks_for() {
        use super::super::catalog::{ACCOUNTS, GRANTS, ROLES};
        for listing in [&ACCOUNTS, &ROLES, &GRANTS] {
            for flavour in [Flavour::MariaDb, Flavour::Mysql] {
                let placeholders = listing.sql(flavour).matches('?').count();
                let key = vec![String::new(); listing.key(flavour).len()];
                let pattern = if listing.uses_pattern { 2 } else { 0 };
                let bound = pattern + key_params(&key).len() + 1;
                assert_eq!(placeholders, bound, "{}", listing.sql(flavour));
            }
        }
    }
}
