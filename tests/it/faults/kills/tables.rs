//! Oblique's tables after the kills against a clean sync's, by the remote's ids (never by
//! Oblique's uuids).

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

/// Asserts that the two databases (one integration each) hold the same accounts, attributes,
/// resources, pulled access and sync errors, row for row (duplicates count); returns the rows
/// compared per table.
pub async fn assert_same_tables(killed_url: &str, clean_url: &str) -> Vec<(&'static str, usize)> {
    let connect = |url: &str| {
        let url = url.to_string();
        async move {
            AsyncPgConnection::establish(&url)
                .await
                .expect("connecting to Oblique's database")
        }
    };
    let (mut killed, mut clean) = (connect(killed_url).await, connect(clean_url).await);
    let mut compared = Vec::new();
    let mut differences = Vec::new();
    for (table, sql) in TABLES {
        let (after_kills, fresh) = (lines(&mut killed, sql).await, lines(&mut clean, sql).await);
        if after_kills != fresh {
            differences.push(describe(table, &after_kills, &fresh));
        }
        compared.push((table, fresh.len()));
    }
    assert!(
        differences.is_empty(),
        "after the kills, Oblique's tables differ from a clean sync's:\n{}",
        differences.join("\n")
    );
    compared
}

/// The lines only one side has (or has more often), a few of each.
fn describe(table: &str, after_kills: &[String], fresh: &[String]) -> String {
    let mut count: BTreeMap<&str, i64> = BTreeMap::new();
    for line in after_kills {
        *count.entry(line).or_default() += 1;
    }
    for line in fresh {
        *count.entry(line).or_default() -= 1;
    }
    let extra: Vec<_> = count.iter().filter(|(_, n)| **n > 0).collect();
    let missing: Vec<_> = count.iter().filter(|(_, n)| **n < 0).collect();
    format!(
        "{table}: {} rows after the kills, {} in the clean sync; {} lines more often after the \
         kills, e.g. {:?}; {} more often in the clean sync, e.g. {:?}",
        after_kills.len(),
        fresh.len(),
        extra.len(),
        &extra[..extra.len().min(10)],
        missing.len(),
        &missing[..missing.len().min(10)],
    )
}
