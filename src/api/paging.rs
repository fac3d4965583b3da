//! Keyset pagination over UUIDv7 ids: a page token is the last id of the previous page, encoded
//! so that callers treat it as opaque.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 1000;
const TOKEN_PREFIX: &str = "p1:";

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub size: i64,
    /// The last id of the previous page.
    pub cursor: Option<Uuid>,
}

impl PageRequest {
    pub fn parse(page_size: i32, page_token: &str) -> AppResult<Self> {
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
        let cursor = if page_token.is_empty() {
            None
        } else {
            Some(decode(page_token).ok_or_else(|| {
                AppError::invalid("page_token", "is not a token from a previous response")
            })?)
        };
        Ok(PageRequest { size, cursor })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        self.size + 1
    }

    /// Cuts `rows` (fetched with [`Self::fetch_limit`]) to the page and returns the next token.
    pub fn finish<T>(&self, rows: &mut Vec<T>, id_of: impl Fn(&T) -> Uuid) -> String {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return String::new();
        }
        rows.truncate(size);
        rows.last()
            .map(|row| encode(id_of(row)))
            .unwrap_or_default()
    }
}

fn encode(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{id}"))
}

fn decode(token: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Uuid::try_parse(text.strip_prefix(TOKEN_PREFIX)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_rows() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let page = PageRequest::parse(2, "").unwrap();
        let mut rows = ids[..3].to_vec();
        let token = page.finish(&mut rows, |id| *id);
        assert_eq!(rows, ids[..2]);
        let next = PageRequest::parse(2, &token).unwrap();
        assert_eq!(next.cursor, Some(ids[1]));
        let mut last = ids[2..4].to_vec();
        assert_eq!(next.finish(&mut last, |id| *id), "");
    }

    #[test]
    fn refuses_bad_sizes_and_tokens() {
        assert!(PageRequest::parse(-1, "").is_err());
        assert!(PageRequest::parse(1001, "").is_err());
        assert_eq!(PageRequest::parse(0, "").unwrap().size, DEFAULT_PAGE_SIZE);
        assert!(PageRequest::parse(10, "garbage!").is_err());
        assert!(PageRequest::parse(10, &URL_SAFE_NO_PAD.encode("p1:nope")).is_err());
    }
}
