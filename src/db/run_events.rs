//! Sync events: stored per run with a gapless sequence, and published with NOTIFY in the same
//! statement so that subscribers on every replica see them once they commit.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::run_stats::RunStats;
use crate::model::{RunPhase, RunState};

/// The NOTIFY channel events are published on, spelled once: a macro so that [`EMIT_SQL`] can
/// `concat!` it (a `const` cannot be).
macro_rules! events_channel {
    () => {
        "oblique_sync_events"
    };
}
pub const EVENTS_CHANNEL: &str = events_channel!();
/// NOTIFY payloads are capped at 8000 bytes, counted after the JSON escaping json_build_object
/// does (a control character takes 6): a message's JSON form is cut to this many bytes, which
/// leaves room for the event's other fields and stats.
const MAX_MESSAGE_JSON_BYTES: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    StateChanged,
    PhaseStarted,
    Progress,
    Warning,
    PhaseFinished,
    Finished,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::StateChanged => "state_changed",
            EventKind::PhaseStarted => "phase_started",
            EventKind::Progress => "progress",
            EventKind::Warning => "warning",
            EventKind::PhaseFinished => "phase_finished",
            EventKind::Finished => "finished",
        }
    }
}

/// An event as stored and as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncEvent {
    pub run_id: Uuid,
    pub integration_id: Uuid,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub phase: Option<RunPhase>,
    pub processed: i64,
    pub total: i64,
    pub stats: Option<RunStats>,
    /// The run's state when the event was made (or the new state, for STATE_CHANGED/FINISHED).
    pub state: RunState,
    pub message: String,
}

impl SyncEvent {
    /// The last event a run gets.
    pub fn is_terminal(&self) -> bool {
        self.kind == EventKind::Finished
    }
}

/// Numbers, stores and publishes one event. Once a run has ended only its FINISHED event is
/// taken: a worker that has not yet noticed a cancellation cannot add events after it.
/// Parameters: run id, kind, phase, processed, total, stats (jsonb), new state (NULL keeps the
/// run's), message. Shared by the diesel connections and the engine's staging connection, so
/// both emit the same way.
pub const EMIT_SQL: &str = concat!(
    "WITH numbered AS (
        UPDATE sync_runs SET event_seq = event_seq + 1
        WHERE id = $1 AND (state IN ('queued', 'running') OR $2 = 'finished')
        RETURNING id, integration_id, event_seq, state
    ), stored AS (
        INSERT INTO sync_events
            (run_id, seq, integration_id, kind, phase, processed, total, stats, state, message)
        SELECT id, event_seq, integration_id, $2, $3, $4, $5, $6, COALESCE($7, state), $8
        FROM numbered
        RETURNING *
    )
    SELECT pg_notify('",
    events_channel!(),
    "', json_build_object(
        'run_id', run_id, 'integration_id', integration_id, 'seq', seq, 'at', at,
        'kind', kind, 'phase', phase, 'processed', processed, 'total', total,
        'stats', stats, 'state', state, 'message', message)::text)
    FROM stored"
);

/// An event before the database numbers and stamps it.
#[derive(Debug, Clone, Default)]
pub struct EventDraft {
    pub kind: Option<EventKind>,
    pub phase: Option<RunPhase>,
    pub processed: i64,
    pub total: i64,
    pub stats: Option<RunStats>,
    /// The new state for STATE_CHANGED and FINISHED; `None` keeps the run's current state.
    pub state: Option<RunState>,
    pub message: String,
}

impl EventDraft {
    /// Kind, message (cut to fit a NOTIFY) and stats as JSON: the columns EMIT_SQL binds.
    pub fn columns(&self) -> (EventKind, String, Option<serde_json::Value>) {
        let kind = self.kind.unwrap_or(EventKind::Progress);
        let message = capped_message(&self.message);
        let stats = self
            .stats
            .map(|stats| serde_json::to_value(stats).unwrap_or_default());
        (kind, message, stats)
    }

    pub fn new(kind: EventKind) -> Self {
        EventDraft {
            kind: Some(kind),
            ..Default::default()
        }
    }

    pub fn phase(mut self, phase: RunPhase) -> Self {
        self.phase = Some(phase);
        self
    }

    pub fn progress(mut self, processed: i64) -> Self {
        self.processed = processed;
        self
    }

    pub fn stats(mut self, stats: RunStats) -> Self {
        self.stats = Some(stats);
        self
    }

    pub fn state(mut self, state: RunState) -> Self {
        self.state = Some(state);
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

/// Stores the event with the run's next sequence number and publishes it, in one statement: on
/// a connection inside a transaction, both happen only if the transaction commits.
pub async fn emit(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    draft: EventDraft,
) -> diesel::QueryResult<()> {
    let (kind, message, stats) = draft.columns();
    diesel::sql_query(EMIT_SQL)
        .bind::<SqlUuid, _>(run_id)
        .bind::<Text, _>(kind.as_str())
        .bind::<Nullable<Text>, _>(draft.phase)
        .bind::<BigInt, _>(draft.processed)
        .bind::<BigInt, _>(draft.total)
        .bind::<Nullable<Jsonb>, _>(stats)
        .bind::<Nullable<Text>, _>(draft.state)
        .bind::<Text, _>(message)
        .execute(conn)
        .await?;
    Ok(())
}

/// [`emit`] on the engine's tokio-postgres staging connection, inside the merge transaction:
/// the event exists (and is published) only if the merge commits.
pub async fn emit_in(
    tx: &tokio_postgres::Transaction<'_>,
    run_id: Uuid,
    draft: EventDraft,
) -> Result<(), tokio_postgres::Error> {
    let (kind, message, stats) = draft.columns();
    tx.execute(
        EMIT_SQL,
        &[
            &run_id,
            &kind.as_str(),
            &draft.phase.map(RunPhase::as_str),
            &draft.processed,
            &draft.total,
            &stats,
            &draft.state.map(RunState::as_str),
            &message,
        ],
    )
    .await?;
    Ok(())
}

/// `message` as it can be stored and published: NULs (which text cannot hold) replaced by
/// U+FFFD, and cut on a character boundary, ending in `…`, when its JSON form is longer than
/// [`MAX_MESSAGE_JSON_BYTES`].
fn capped_message(message: &str) -> String {
    /// Bytes of `c` in PostgreSQL's JSON text.
    fn json_bytes(c: char) -> usize {
        match c {
            '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        }
    }
    let message = message.replace('\0', "\u{FFFD}");
    if message.chars().map(json_bytes).sum::<usize>() <= MAX_MESSAGE_JSON_BYTES {
        return message;
    }
    let budget = MAX_MESSAGE_JSON_BYTES - '…'.len_utf8();
    let mut used = 0;
    let mut capped: String = message
        .chars()
        .take_while(|c| {
            used += json_bytes(*c);
            used <= budget
        })
        .collect();
    capped.push('…');
    capped
}

#[derive(diesel::QueryableByName)]
struct StoredEvent {
    #[diesel(sql_type = diesel::sql_types::Text)]
    event: String,
}

/// The run's stored events with a sequence number above `after`, in order.
pub async fn stored_after(
    conn: &mut AsyncPgConnection,
    run_id: Uuid,
    after: i64,
) -> anyhow::Result<Vec<SyncEvent>> {
    let rows: Vec<StoredEvent> = diesel::sql_query(
        "SELECT json_build_object(
             'run_id', run_id, 'integration_id', integration_id, 'seq', seq, 'at', at,
             'kind', kind, 'phase', phase, 'processed', processed, 'total', total,
             'stats', stats, 'state', state, 'message', message)::text AS event
         FROM sync_events WHERE run_id = $1 AND seq > $2 ORDER BY seq",
    )
    .bind::<SqlUuid, _>(run_id)
    .bind::<BigInt, _>(after)
    .load(conn)
    .await?;
    rows.into_iter()
        .map(|row| Ok(serde_json::from_str(&row.event)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_capped_in_escaped_bytes_on_a_character_boundary() {
        assert_eq!(capped_message("short"), "short");
        assert_eq!(capped_message("a\0b"), "a\u{FFFD}b");
        for unit in ["😀", "\u{1}", "\"", "é"] {
            let long = unit.repeat(5000);
            let capped = capped_message(&long);
            let body = capped.strip_suffix('…').expect("marked as cut");
            assert!(long.starts_with(body));
            let json = serde_json::to_string(&capped).unwrap();
            assert!(
                json.len() <= MAX_MESSAGE_JSON_BYTES + 2,
                "{unit:?}: {}",
                json.len()
            );
            assert!(
                json.len() > MAX_MESSAGE_JSON_BYTES - 8,
                "{unit:?}: {}",
                json.len()
            );
        }
    }
}
