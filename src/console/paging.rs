//! Long lists page by page: keyset pages in the domain's order (by id), the page's start in the
//! address (`?after=ID`, the last id of the page before) so that a page can be bookmarked and
//! followed without a mouse. A page asks for one row more than it shows, to know whether
//! another follows.

use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The page's start as the address gives it.
#[derive(Debug, Default, Deserialize)]
pub struct PageAt {
    after: Option<String>,
}

impl PageAt {
    /// The id the page starts after; a value that is no id is refused, naming `after`.
    pub fn after(&self) -> AppResult<Option<Uuid>> {
        match self.after.as_deref() {
            None | Some("") => Ok(None),
            Some(value) => Uuid::parse_str(value)
                .map(Some)
                .map_err(|_| AppError::invalid("after", "must be the id a Next page link carries")),
        }
    }
}

/// How many rows to ask for to show `size`: one more, to see whether a next page exists.
pub fn ask_for(size: i64) -> i64 {
    size + 1
}

/// The rows to show, and the start of the next page when there is one.
pub fn split<T>(mut rows: Vec<T>, size: i64, id: impl Fn(&T) -> Uuid) -> (Vec<T>, Option<Uuid>) {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if rows.len() <= size {
        return (rows, None);
    }
    rows.truncate(size);
    let next = rows.last().map(id);
    (rows, next)
}

/// Links to the first page (when not on it) and the next one (when there is one).
pub fn links(path: &str, after: Option<Uuid>, next: Option<Uuid>) -> Markup {
    html! {
        @if after.is_some() || next.is_some() {
            nav.pages aria-label="Pages" {
                @if after.is_some() { a href=(path) { "First page" } }
                @if let Some(next) = next {
                    a href=(format!("{path}?after={next}")) rel="next" { "Next page" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_one_row_short_of_the_extra_has_no_next() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let (shown, next) = split(ids.clone(), 3, |id| *id);
        assert_eq!((shown, next), (ids, None));
    }

    #[test]
    fn the_extra_row_is_left_for_the_next_page_which_starts_after_the_last_shown() {
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        let (shown, next) = split(ids.clone(), 3, |id| *id);
        assert_eq!(shown, ids[..3]);
        assert_eq!(next, Some(ids[2]));
    }

    #[test]
    fn a_start_that_is_no_id_is_refused_naming_after() {
        let at = PageAt {
            after: Some("x' OR 1=1".into()),
        };
        let error = at.after().expect_err("refused");
        assert!(format!("{error:?}").contains("after"), "{error:?}");
        assert_eq!(PageAt::default().after().expect("no start"), None);
    }
}
