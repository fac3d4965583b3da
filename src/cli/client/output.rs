//! What the client commands print: aligned columns (or `key: value` lines) for a person, or the
//! API's own messages as JSON for a script. The JSON is the proto3 JSON mapping made from the
//! descriptor set, with the proto field names (snake_case, as API.md writes them) and every
//! field, also the ones at their default, so a script never has to guess what a missing key
//! means.

use std::io::Write;
use std::sync::OnceLock;

use anyhow::Context;
use chrono::{DateTime, Utc};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

use crate::pb;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// A generated message and its full proto name, for the JSON mapping.
pub trait ProtoName: prost::Message + Sized {
    const NAME: &'static str;
}

macro_rules! proto_names {
    ($($ty:ident),* $(,)?) => {
        $(impl ProtoName for pb::$ty {
            const NAME: &'static str = concat!("oblique.v1.", stringify!($ty));
        })*
    };
}

proto_names!(
    Integration,
    ListIntegrationsResponse,
    DeleteIntegrationResponse,
    IntegrationType,
    ListIntegrationTypesResponse,
    SyncRun,
    ListSyncRunsResponse,
    ListSyncRunChangesResponse,
    SyncEvent,
    Grant,
    ListAccessResponse,
    ListAuditEventsResponse,
);

fn descriptors() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        // The set is compiled into this binary from proto/: failing to read it is a build bug.
        DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the compiled descriptor set")
    })
}

/// `message` in the proto3 JSON mapping.
pub fn to_json<M: ProtoName>(message: &M) -> anyhow::Result<serde_json::Value> {
    let descriptor = descriptors()
        .get_message_by_name(M::NAME)
        .with_context(|| format!("{} is not in the descriptor set", M::NAME))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .with_context(|| format!("re-reading a {}", M::NAME))?;
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false);
    Ok(dynamic.serialize_with_options(serde_json::value::Serializer, &options)?)
}

/// Prints `message` as indented JSON on stdout.
pub fn print_json<M: ProtoName>(message: &M) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&to_json(message)?)?;
    writeln!(std::io::stdout(), "{text}")?;
    Ok(())
}

/// Prints `message` as one line of JSON on stdout (a stream of events, one per line).
pub fn print_json_line<M: ProtoName>(message: &M) -> anyhow::Result<()> {
    let text = serde_json::to_string(&to_json(message)?)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Rows under a header, each column as wide as its widest cell, two spaces apart.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.into_iter().map(|cell| one_line(&cell)).collect());
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(&format!("{cell:<width$}  "));
                }
            }
            text.trim_end().to_string() + "\n"
        };
        let mut text = line(self.headers.clone());
        for row in &self.rows {
            text.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        text
    }

    pub fn print(&self) -> anyhow::Result<()> {
        std::io::stdout()
            .lock()
            .write_all(self.render().as_bytes())?;
        Ok(())
    }
}

/// `key: value` lines, the keys aligned: one object in detail.
pub struct Details(Vec<(String, String)>);

impl Details {
    pub fn new() -> Details {
        Details(Vec::new())
    }

    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.push((key.into(), value.into()));
    }

    pub fn render(&self) -> String {
        let width = self
            .0
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            + 1;
        self.0
            .iter()
            .map(|(key, value)| format!("{:<width$} {}\n", format!("{key}:"), one_line(value)))
            .collect()
    }

    pub fn print(&self) -> anyhow::Result<()> {
        std::io::stdout()
            .lock()
            .write_all(self.render().as_bytes())?;
        Ok(())
    }
}

impl Default for Details {
    fn default() -> Self {
        Details::new()
    }
}

/// A cell on one line: a multi-line value (a PEM certificate) shows its first line and how
/// many more there are.
pub fn one_line(text: &str) -> String {
    let mut lines = text.trim_end().lines();
    let first = lines.next().unwrap_or_default().to_string();
    match lines.count() {
        0 => first,
        more => format!("{first} … (+{more} lines)"),
    }
}

pub fn datetime(at: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.seconds, u32::try_from(at.nanos).unwrap_or(0))
}

/// A timestamp in RFC 3339 to the second (what `--since` and `--at` take back); `-` for none.
pub fn time(at: Option<&prost_types::Timestamp>) -> String {
    at.and_then(datetime)
        .map(|at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

/// An RFC 3339 time given on the command line (`--since 2025-01-31T00:00:00Z`).
pub fn parse_time(text: &str) -> Result<prost_types::Timestamp, String> {
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("not an RFC 3339 time like 2025-01-31T12:00:00Z ({e})"))?
        .with_timezone(&Utc);
    Ok(prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

/// An enum value's proto name without its type's prefix, lower case: `SYNC_RUN_STATE_FAILED`
/// → `failed`; the zero value → `-`.
pub fn enum_word(proto_name: &str, prefix: &str) -> String {
    match proto_name.strip_prefix(prefix) {
        Some("UNSPECIFIED") | None => "-".into(),
        Some(word) => word.to_lowercase(),
    }
}

pub fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// `-` for an empty string, so that columns stay readable.
pub fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".into()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_the_last_is_not_padded() {
        let mut table = Table::new(&["ID", "NAME", "TYPE"]);
        table.row(vec!["1".into(), "a long name".into(), "postgres".into()]);
        table.row(vec!["22".into(), "b".into(), "ldap".into()]);
        assert_eq!(
            table.render(),
            "ID  NAME         TYPE\n1   a long name  postgres\n22  b            ldap\n"
        );
    }

    #[test]
    fn multi_line_values_show_their_first_line() {
        assert_eq!(
            one_line("-----BEGIN\nabc\n-----END\n"),
            "-----BEGIN … (+2 lines)"
        );
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn json_uses_proto_names_enum_names_and_keeps_defaults() {
        let run = pb::SyncRun {
            id: "r1".into(),
            state: pb::SyncRunState::Succeeded as i32,
            created_at: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: 0,
            }),
            ..Default::default()
        };
        let json = to_json(&run).unwrap();
        assert_eq!(json["id"], "r1");
        assert_eq!(json["state"], "SYNC_RUN_STATE_SUCCEEDED");
        assert_eq!(json["integration_id"], "");
        assert_eq!(json["dry_run"], false);
        assert_eq!(json["created_at"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn times_round_trip_and_enum_words_drop_their_prefix() {
        let at = parse_time("2025-01-31T12:00:00Z").unwrap();
        assert_eq!(time(Some(&at)), "2025-01-31T12:00:00Z");
        assert!(parse_time("yesterday").is_err());
        assert_eq!(
            enum_word("SYNC_RUN_STATE_FAILED", "SYNC_RUN_STATE_"),
            "failed"
        );
        assert_eq!(
            enum_word("SYNC_RUN_STATE_UNSPECIFIED", "SYNC_RUN_STATE_"),
            "-"
        );
    }
}
