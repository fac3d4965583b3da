//! Rows of users, access, grants and sync errors to messages, and page tokens over text keys.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::DateTime;
use uuid::Uuid;

use super::convert::{account, optional_timestamp, timestamp};
use super::paging::PageRequest;
use crate::db::access::AccessRow;
use crate::db::grants::{GrantView, HistoryRow};
use crate::db::sync_errors::SyncErrorRow;
use crate::db::users::{LinkedAccount, UserRow};
use crate::error::{AppError, AppResult};
use crate::pb;

/// Distinct from the `p1:` prefix of UUID tokens, so neither kind of token passes for the other.
const TEXT_TOKEN_PREFIX: &str = "t1:";

/// A user with the given accounts (ListUsers passes none).
pub fn user(row: UserRow, accounts: Vec<LinkedAccount>) -> pb::User {
    pb::User {
        id: row.id.to_string(),
        email: row.email.unwrap_or_default(),
        username: row.username,
        display_name: row.display_name,
        accounts: accounts
            .into_iter()
            .map(|linked| account(linked.account, linked.last_pulled_at))
            .collect(),
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

/// An effective-access row. Pulled access is the remote's own state, so in sync by definition;
/// a past decision has no propagation status (UNSPECIFIED): its pushing is not kept.
pub fn access_entry(row: AccessRow) -> pb::AccessEntry {
    pb::AccessEntry {
        resource_id: row.resource_id.to_string(),
        user_id: optional_id(row.user_id),
        account_id: optional_id(row.account_id),
        source: access_source(&row.source).into(),
        propagation_status: row
            .status
            .as_deref()
            .map_or(pb::PropagationStatus::Unspecified, propagation_status)
            .into(),
        propagation_error: row.error.unwrap_or_default(),
        propagation_attempts: row.attempts,
        grant_id: optional_id(row.grant_id),
        since: Some(timestamp(row.since)),
    }
}

/// A grant with the state of pushing its membership. With no `propagations` row, an active
/// grant on a resource still pushed to is PENDING (the engine has not looked at it yet); any
/// other grant has nothing being pushed for it (UNSPECIFIED).
pub fn grant(view: GrantView) -> pb::Grant {
    let row = view.grant;
    let status = match view.propagation_status.as_deref() {
        Some(status) => propagation_status(status),
        None if view.pushed && row.is_active() => pb::PropagationStatus::Pending,
        None => pb::PropagationStatus::Unspecified,
    };
    pb::Grant {
        id: row.id.to_string(),
        resource_id: row.resource_id.to_string(),
        user_id: row.user_id.to_string(),
        reason: row.reason,
        granted_by: row.granted_by,
        granted_at: Some(timestamp(row.granted_at)),
        expires_at: optional_timestamp(row.expires_at),
        revoked_at: optional_timestamp(row.revoked_at),
        revoked_by: row.revoked_by.unwrap_or_default(),
        revoke_reason: row.revoke_reason.unwrap_or_default(),
        propagation_status: status.into(),
        propagation_error: view.propagation_error.unwrap_or_default(),
        propagation_attempts: view.propagation_attempts.unwrap_or(0),
        source: access_source(&row.source).into(),
    }
}

pub fn history_entry(row: HistoryRow, grant: pb::Grant) -> pb::AccessHistoryEntry {
    pb::AccessHistoryEntry {
        action: row.action,
        at: Some(timestamp(row.at)),
        grant: Some(grant),
    }
}

/// A history page token: the (at, grant, action) of the last entry of the previous page.
pub fn encode_history_cursor(row: &HistoryRow) -> String {
    encode_text_cursor(&format!(
        "{}/{}/{}",
        row.at.timestamp_micros(),
        row.grant_id,
        row.action
    ))
}

pub fn decode_history_cursor(field: &str, token: &str) -> AppResult<HistoryRow> {
    let text = decode_text_cursor(field, token)?;
    let mut parts = text.splitn(3, '/');
    let cursor = (|| {
        let at = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
        let grant_id = Uuid::try_parse(parts.next()?).ok()?;
        let action = parts.next()?.to_string();
        Some(HistoryRow {
            action,
            at,
            grant_id,
        })
    })();
    cursor.ok_or_else(|| AppError::invalid(field, "is not a token from a previous response"))
}

fn optional_id(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

fn access_source(source: &str) -> pb::AccessSource {
    match source {
        "remote" => pb::AccessSource::Remote,
        "grant" => pb::AccessSource::Grant,
        "remote_adopted" => pb::AccessSource::RemoteAdopted,
        "team" => pb::AccessSource::Team,
        _ => pb::AccessSource::Unspecified,
    }
}

fn propagation_status(status: &str) -> pb::PropagationStatus {
    match status {
        "in_sync" => pb::PropagationStatus::InSync,
        "pending" => pb::PropagationStatus::Pending,
        "error" => pb::PropagationStatus::Error,
        _ => pb::PropagationStatus::Unspecified,
    }
}

pub fn sync_error(row: SyncErrorRow) -> pb::SyncError {
    pb::SyncError {
        object: row.object,
        message: row.message,
        first_seen: Some(timestamp(row.first_seen)),
        last_seen: Some(timestamp(row.last_seen)),
        count: row.count,
    }
}

/// An opaque page token holding the last text key of the previous page.
pub fn encode_text_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TEXT_TOKEN_PREFIX}{key}"))
}

/// The text key in a token made by [`encode_text_cursor`]; anything else is INVALID_ARGUMENT
/// naming `field`.
pub fn decode_text_cursor(field: &str, token: &str) -> AppResult<String> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(TEXT_TOKEN_PREFIX).map(str::to_string))
        .ok_or_else(|| AppError::invalid(field, "is not a token from a previous response"))
}

/// [`PageRequest::finish`] for rows keyed by text: cuts `rows` (fetched with
/// `page.fetch_limit()`) to the page and returns the next token. Parse the request with
/// `PageRequest::parse(page_size, "")` and the token with [`decode_text_cursor`].
pub fn finish_text_page<T>(
    page: &PageRequest,
    rows: &mut Vec<T>,
    key_of: impl Fn(&T) -> &str,
) -> String {
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    if rows.len() <= size {
        return String::new();
    }
    rows.truncate(size);
    rows.last()
        .map(|row| encode_text_cursor(key_of(row)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn text_cursors_round_trip_and_refuse_other_tokens() {
        for key in ["", "account:uid=jdoe,ou=people", "ünïcode / ✓"] {
            let token = encode_text_cursor(key);
            assert_eq!(decode_text_cursor("page_token", &token).unwrap(), key);
        }
        let error = decode_text_cursor("page_token", "not base64!").unwrap_err();
        assert_eq!(
            error.to_string(),
            "page_token: is not a token from a previous response"
        );
        let uuid_token = URL_SAFE_NO_PAD.encode(format!("p1:{}", Uuid::now_v7()));
        assert!(decode_text_cursor("page_token", &uuid_token).is_err());
    }

    #[test]
    fn text_pages_end_with_an_empty_token() {
        let page = PageRequest::parse(2, "").unwrap();
        let mut rows = vec!["a", "b", "c"];
        let token = finish_text_page(&page, &mut rows, |row| row);
        assert_eq!(rows, ["a", "b"]);
        assert_eq!(decode_text_cursor("page_token", &token).unwrap(), "b");
        let mut last = vec!["c"];
        assert_eq!(finish_text_page(&page, &mut last, |row| row), "");
    }

    fn access_row(source: &str, status: Option<&str>) -> AccessRow {
        AccessRow {
            key: String::new(),
            resource_id: Uuid::now_v7(),
            account_id: Some(Uuid::now_v7()),
            user_id: None,
            source: source.into(),
            status: status.map(str::to_string),
            error: None,
            attempts: 0,
            grant_id: None,
            since: Utc::now(),
        }
    }

    #[test]
    fn pulled_access_is_remote_and_in_sync() {
        let row = access_row("remote", Some("in_sync"));
        let since = row.since;
        let entry = access_entry(row);
        assert_eq!(entry.source(), pb::AccessSource::Remote);
        assert_eq!(entry.propagation_status(), pb::PropagationStatus::InSync);
        assert_eq!(entry.user_id, "");
        assert_eq!(entry.since, Some(timestamp(since)));
    }

    #[test]
    fn sources_and_statuses_map_to_their_enums() {
        let cases = [
            ("grant", pb::AccessSource::Grant),
            ("remote_adopted", pb::AccessSource::RemoteAdopted),
            ("team", pb::AccessSource::Team),
            ("remote", pb::AccessSource::Remote),
        ];
        for (source, expected) in cases {
            assert_eq!(access_entry(access_row(source, None)).source(), expected);
        }
        let statuses = [
            (Some("pending"), pb::PropagationStatus::Pending),
            (Some("error"), pb::PropagationStatus::Error),
            (Some("in_sync"), pb::PropagationStatus::InSync),
            (None, pb::PropagationStatus::Unspecified),
        ];
        for (status, expected) in statuses {
            let entry = access_entry(access_row("grant", status));
            assert_eq!(entry.propagation_status(), expected);
        }
    }

    fn grant_view(pushed: bool, status: Option<&str>, revoked: bool) -> GrantView {
        let now = Utc::now();
        GrantView {
            grant: crate::db::grants::GrantRow {
                id: Uuid::now_v7(),
                resource_id: Uuid::now_v7(),
                user_id: Uuid::now_v7(),
                source: "remote_adopted".into(),
                reason: "why".into(),
                granted_by: "alice".into(),
                granted_at: now,
                expires_at: None,
                revoked_at: revoked.then_some(now),
                revoked_by: revoked.then(|| "bob".into()),
                revoke_reason: revoked.then(|| "done".into()),
                deleted_at: None,
            },
            propagation_status: status.map(str::to_string),
            propagation_error: status.map(|_| "refused".into()),
            propagation_attempts: status.map(|_| 3),
            pushed,
        }
    }

    #[test]
    fn grants_carry_their_propagation() {
        let pushed = grant(grant_view(true, Some("error"), false));
        assert_eq!(pushed.source(), pb::AccessSource::RemoteAdopted);
        assert_eq!(pushed.propagation_status(), pb::PropagationStatus::Error);
        assert_eq!(pushed.propagation_error, "refused");
        assert_eq!(pushed.propagation_attempts, 3);
        assert!(pushed.revoked_at.is_none());
        assert_eq!(pushed.revoked_by, "");
        let unseen = grant(grant_view(true, None, false));
        assert_eq!(unseen.propagation_status(), pb::PropagationStatus::Pending);
        let not_pushed = grant(grant_view(false, None, false));
        assert_eq!(
            not_pushed.propagation_status(),
            pb::PropagationStatus::Unspecified
        );
        let revoked = grant(grant_view(true, None, true));
        assert_eq!(
            revoked.propagation_status(),
            pb::PropagationStatus::Unspecified
        );
        assert_eq!(revoked.revoked_by, "bob");
        assert_eq!(revoked.revoke_reason, "done");
    }

    #[test]
    fn history_cursors_round_trip() {
        let row = HistoryRow {
            action: "access.revoke".into(),
            at: DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap(),
            grant_id: Uuid::now_v7(),
        };
        let token = encode_history_cursor(&row);
        assert_eq!(decode_history_cursor("page_token", &token).unwrap(), row);
        let other = encode_text_cursor("nope");
        assert!(decode_history_cursor("page_token", &other).is_err());
    }
}
