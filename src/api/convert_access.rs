//! Rows of users, pulled access and sync errors to messages, and page tokens over text keys.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::convert::{account, timestamp};
use super::paging::PageRequest;
use crate::db::access::AccessRow;
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

/// Pulled access is the remote's own state, so it is in sync by definition.
pub fn pulled_access_entry(row: AccessRow) -> pb::AccessEntry {
    pb::AccessEntry {
        resource_id: row.resource_id.to_string(),
        user_id: row.user_id.map(|id| id.to_string()).unwrap_or_default(),
        account_id: row.account_id.to_string(),
        source: pb::AccessSource::Remote.into(),
        propagation_status: pb::PropagationStatus::InSync.into(),
        propagation_error: String::new(),
        propagation_attempts: 0,
        grant_id: String::new(),
        since: Some(timestamp(row.added_at)),
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
    use uuid::Uuid;

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

    #[test]
    fn pulled_access_is_remote_and_in_sync() {
        let now = Utc::now();
        let entry = pulled_access_entry(AccessRow {
            id: Uuid::now_v7(),
            resource_id: Uuid::now_v7(),
            account_id: Uuid::now_v7(),
            user_id: None,
            added_at: now,
            removed_at: None,
        });
        assert_eq!(entry.source(), pb::AccessSource::Remote);
        assert_eq!(entry.propagation_status(), pb::PropagationStatus::InSync);
        assert_eq!(entry.user_id, "");
        assert_eq!(entry.since, Some(timestamp(now)));
    }
}
