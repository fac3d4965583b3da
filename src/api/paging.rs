//! The one paging scheme of every list RPC: keyset pages, and a page token that names both where
//! the next page starts (the last key of the page before) and the request it was made for (the
//! RPC and its filter). A token sent with another filter would silently skip or repeat rows, so
//! it is refused: INVALID_ARGUMENT on `page_token`. Callers treat tokens as opaque.

use std::fmt::Display;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::DateTime;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::access::HistoryRow;
use crate::error::{AppError, AppResult};
use crate::model::AuditAction;

pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Tokens of earlier versions (`p1:`, `t1:`) carried no filter: they are refused as unknown.
const TOKEN_VERSION: &str = "p2";
const FIELD: &str = "page_token";

/// What a list was asked for, apart from where its page starts: the RPC and every field that
/// filters or orders it. Only its digest travels in the token.
#[derive(Debug, Clone)]
pub struct ListQuery {
    digest: Sha256,
}

impl ListQuery {
    pub fn new(rpc: &str) -> Self {
        let mut query = ListQuery {
            digest: Sha256::new(),
        };
        query.write(rpc);
        query
    }

    /// Adds a filter field; absent values are written too (as `None`), so that "no filter" is
    /// a filter of its own.
    pub fn filter(mut self, field: &str, value: impl Display) -> Self {
        self.write(field);
        self.write(&value.to_string());
        self
    }

    /// Length-prefixed, so that no two different field lists write the same bytes.
    fn write(&mut self, text: &str) {
        self.digest.update((text.len() as u64).to_be_bytes());
        self.digest.update(text.as_bytes());
    }

    fn fingerprint(&self) -> String {
        let digest = self.digest.clone().finalize();
        digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// A value rows are ordered by, and so where a page starts.
pub trait PageKey: Sized {
    fn encode(&self) -> String;
    fn decode(text: &str) -> Option<Self>;
}

impl PageKey for Uuid {
    fn encode(&self) -> String {
        self.to_string()
    }
    fn decode(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok()
    }
}

impl PageKey for String {
    fn encode(&self) -> String {
        self.clone()
    }
    fn decode(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

/// Access history is ordered by (at, grant, action).
impl PageKey for HistoryRow {
    fn encode(&self) -> String {
        format!(
            "{}/{}/{}",
            self.at.timestamp_micros(),
            self.grant_id,
            self.action
        )
    }
    fn decode(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '/');
        let at = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
        let grant_id = Uuid::try_parse(parts.next()?).ok()?;
        let action = AuditAction::parse(parts.next()?)?;
        Some(HistoryRow {
            action,
            at,
            grant_id,
        })
    }
}

/// One page of a list: how long it is and after which key it starts.
#[derive(Debug)]
pub struct Page<K> {
    pub size: i64,
    /// The last key of the previous page.
    pub after: Option<K>,
    fingerprint: String,
}

impl<K: PageKey> Page<K> {
    /// Reads `page_size` and `page_token` of a request that asks for `query`.
    pub fn parse(page_size: i32, page_token: &str, query: &ListQuery) -> AppResult<Self> {
        let size = match i64::from(page_size) {
            0 => DEFAULT_PAGE_SIZE,
            size if (1..=MAX_PAGE_SIZE).contains(&size) => size,
            _ => {
                return Err(AppError::invalid(
                    "page_size",
                    format!("must be between 0 (default {DEFAULT_PAGE_SIZE}) and {MAX_PAGE_SIZE}"),
                ));
            }
        };
        let fingerprint = query.fingerprint();
        let after = match page_token {
            "" => None,
            token => {
                let (made_for, key) = decode(token).ok_or_else(|| {
                    AppError::invalid(FIELD, "is not a token from a previous response")
                })?;
                if made_for != fingerprint {
                    return Err(AppError::invalid(
                        FIELD,
                        "was made for another list or filter: send the filter it came with, \
                         or no token to start again",
                    ));
                }
                Some(key)
            }
        };
        Ok(Page {
            size,
            after,
            fingerprint,
        })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.size + 1
    }

    /// Cuts `rows` (fetched with [`Self::fetch_limit`]) to the page and returns the next token
    /// (empty on the last page).
    pub fn finish<T>(&self, rows: &mut Vec<T>, key_of: impl Fn(&T) -> K) -> String {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return String::new();
        }
        rows.truncate(size);
        rows.last()
            .map(|row| {
                let text = format!(
                    "{TOKEN_VERSION}:{}:{}",
                    self.fingerprint,
                    key_of(row).encode()
                );
                URL_SAFE_NO_PAD.encode(text)
            })
            .unwrap_or_default()
    }
}

/// The fingerprint and key in a token, if it is one of ours.
fn decode<K: PageKey>(token: &str) -> Option<(String, K)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let rest = text.strip_prefix(TOKEN_VERSION)?.strip_prefix(':')?;
    let (fingerprint, key) = rest.split_once(':')?;
    Some((fingerprint.to_owned(), K::decode(key)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_of(integration: &str) -> ListQuery {
        ListQuery::new("ListSyncRuns").filter("integration_id", integration)
    }

    #[test]
    fn pages_through_rows() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let query = runs_of("a");
        let page = Page::<Uuid>::parse(2, "", &query).unwrap();
        let mut rows = ids[..3].to_vec();
        let token = page.finish(&mut rows, |id| *id);
        assert_eq!(rows, ids[..2]);
        let next = Page::<Uuid>::parse(2, &token, &query).unwrap();
        assert_eq!(next.after, Some(ids[1]));
        let mut last = ids[2..4].to_vec();
        assert_eq!(next.finish(&mut last, |id| *id), "");
    }

    #[test]
    fn a_token_only_serves_the_filter_it_was_made_for() {
        let page = Page::<Uuid>::parse(1, "", &runs_of("a")).unwrap();
        let token = page.finish(&mut vec![Uuid::now_v7(), Uuid::now_v7()], |id| *id);
        let error = Page::<Uuid>::parse(1, &token, &runs_of("b")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("page_token: was made for another")
        );
        let other_rpc = ListQuery::new("ListResources").filter("integration_id", "a");
        assert!(Page::<Uuid>::parse(1, &token, &other_rpc).is_err());
        // Field boundaries count: ("ab", "c") is not ("a", "bc").
        let shifted = ListQuery::new("ListSyncRuns").filter("integration_i", "da");
        assert!(Page::<Uuid>::parse(1, &token, &shifted).is_err());
    }

    #[test]
    fn refuses_bad_sizes_and_tokens() {
        let query = runs_of("a");
        assert!(Page::<Uuid>::parse(-1, "", &query).is_err());
        assert!(Page::<Uuid>::parse(1001, "", &query).is_err());
        assert_eq!(
            Page::<Uuid>::parse(0, "", &query).unwrap().size,
            DEFAULT_PAGE_SIZE
        );
        assert!(Page::<Uuid>::parse(10, "garbage!", &query).is_err());
        let old = URL_SAFE_NO_PAD.encode(format!("p1:{}", Uuid::now_v7()));
        assert!(Page::<Uuid>::parse(10, &old, &query).is_err());
    }

    #[test]
    fn text_and_history_keys_round_trip() {
        let query = ListQuery::new("ListAccess").filter("resource_id", "r");
        for key in ["", "account:uid=jdoe,ou=people", "ünïcode / ✓ : colons"] {
            let page = Page::<String>::parse(1, "", &query).unwrap();
            let token = page.finish(&mut vec![key.to_owned(), "z".into()], Clone::clone);
            let next = Page::<String>::parse(1, &token, &query).unwrap();
            assert_eq!(next.after.as_deref(), Some(key));
        }
        let row = HistoryRow {
            action: AuditAction::AccessRevoke,
            at: DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap(),
            grant_id: Uuid::now_v7(),
        };
        assert_eq!(HistoryRow::decode(&row.encode()), Some(row));
        assert_eq!(HistoryRow::decode("nope"), None);
    }
}
