//! Oblique's tables as lines of what the remote determines, by the remote's ids (never by
//! Oblique's uuids), to compare them: before and after a kill, and after the kills with a clean
//! sync's.

use std::collections::BTreeMap;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Each table as lines of what the remote determines, keyed by external ids. Live rows only: a
/// clean sync has nothing soft deleted. Access names whether its ends are live, so that access
/// left on a deleted account shows as a difference.
const TABLES: [(&str, &str); 5] = [
    (
        "accounts",
        "SELECT concat_ws(' | ', external_id, username, email, display_name) AS line
         FROM accounts WHERE deleted_at IS NULL",
    ),
    (
        "attributes",
        "SELECT concat_ws(' | ', a.external_id, t.name, t.attribute_values::text) AS line
         FROM account_attributes t JOIN accounts a ON a.id = t.account_id
         WHERE a.deleted_at IS NULL",
    ),
    (
        "resources",
        "SELECT concat_ws(' | ', external_id, resource_type, name, description) AS line
         FROM resources WHERE deleted_at IS NULL",
    ),
    (
        "access",
        "SELECT concat_ws(' | ', r.external_id, a.external_id,
                          CASE WHEN r.deleted_at IS NULL THEN 'live' ELSE 'deleted' END,
                          CASE WHEN a.deleted_at IS NULL THEN 'live' ELSE 'deleted' END) AS line
         FROM pulled_access p
         JOIN resources r ON r.id = p.resource_id JOIN accounts a ON a.id = p.account_id
         WHERE p.removed_at IS NULL",
    ),
    (
        "sync errors",
        "SELECT concat_ws(' | ', object, message) AS line FROM sync_errors",
    ),
];

#[derive(diesel::QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

async fn lines(conn: &mut AsyncPgConnection, sql: &str) -> Vec<String> {
    let mut lines: Vec<String> = diesel::sql_query(sql)
        .load::<Line>(conn)
        .await
        .unwrap_or_else(|error| panic!("{error}: {sql}"))
        .into_iter()
        .map(|l| l.line)
        .collect();
    lines.sort();
    lines
}

/// The rows of each table, as lines.
pub struct Tables(Vec<(&'static str, Vec<String>)>);

impl Tables {
    /// The tables of the database at `url` (which has one integration).
    pub async fn read(url: &str) -> Tables {
        let mut conn = AsyncPgConnection::establish(url)
            .await
            .expect("connecting to Oblique's database");
        let mut tables = Vec::new();
        for (table, sql) in TABLES {
            tables.push((table, lines(&mut conn, sql).await));
        }
        Tables(tables)
    }

    /// Asserts that `self` holds the same accounts, attributes, resources, pulled access and
    /// sync errors as `expected`, row for row (duplicates count), saying `what` differs when
    /// not; returns the rows compared per table.
    pub fn assert_same(&self, expected: &Tables, what: &str) -> Vec<(&'static str, usize)> {
        let differences: Vec<String> = self
            .0
            .iter()
            .zip(&expected.0)
            .filter(|((_, found), (_, wanted))| found != wanted)
            .map(|((table, found), (_, wanted))| describe(table, found, wanted))
            .collect();
        assert!(
            differences.is_empty(),
            "{what}:\n{}",
            differences.join("\n")
        );
        expected
            .0
            .iter()
            .map(|(table, rows)| (*table, rows.len()))
            .collect()
    }
}

/// The lines only one side has (or has more often), a few of each.
fn describe(table: &str, found: &[String], wanted: &[String]) -> String {
    let mut count: BTreeMap<&str, i64> = BTreeMap::new();
    for line in found {
        *count.entry(line).or_default() += 1;
    }
    for line in wanted {
        *count.entry(line).or_default() -= 1;
    }
    let extra: Vec<_> = count.iter().filter(|(_, n)| **n > 0).collect();
    let missing: Vec<_> = count.iter().filter(|(_, n)| **n < 0).collect();
    format!(
        "{table}: {} rows found, {} expected; {} lines found more often than expected, e.g. \
         {:?}; {} less often, e.g. {:?}",
        found.len(),
        wanted.len(),
        extra.len(),
        &extra[..extra.len().min(10)],
        missing.len(),
        &missing[..missing.len().min(10)],
    )
}
