//! Every search the connector runs: Simple Paged Results (RFC 2696) so that a server's size
//! limit never truncates a listing, search references (referrals) skipped, entries streamed.
//!
//! Pages are requested here rather than by ldap3's `PagedResults` adapter, which follows a
//! non-empty cookie for ever (a server that repeats one makes the listing endless) and panics
//! on a malformed control: each page's control is read without panicking, and a cookie seen
//! before, or more pages than the entries could need, fail the listing (see [`Pages`]).

use std::collections::HashSet;

use ldap3::adapters::{Adapter, EntriesOnly};
use ldap3::asn1::{PL, parse_tag};
use ldap3::controls::PagedResults;
use ldap3::{Ldap, LdapResult, Scope, SearchStream};

use super::connect::answer;
use super::entry::Entry;
use super::errors::{operation_error, rc, search_error};
use super::settings::{Base, LdapSettings};
use crate::connectors::ConnectorError;

type Stream = SearchStream<'static, String, Vec<String>>;

const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";

/// Pages allowed beyond one per entry received: a server may send a few empty pages, never an
/// endless run of them.
const EMPTY_PAGES_ALLOWED: u64 = 64;

/// A search whose entries are being received.
pub(super) struct Search {
    ldap: Ldap,
    query: Query,
    stream: Stream,
    pages: Pages,
    base: Base,
    done: bool,
}

/// What each page's request repeats.
struct Query {
    base_dn: String,
    scope: Scope,
    filter: String,
    attributes: Vec<String>,
    page_size: i32,
}

impl Search {
    /// Starts a search of `base_dn` (under the setup field `base`, which errors name).
    pub(super) async fn start(
        ldap: &mut Ldap,
        settings: &LdapSettings,
        base: Base,
        base_dn: &str,
        scope: Scope,
        filter: &str,
        attributes: Vec<String>,
    ) -> Result<Search, ConnectorError> {
        let query = Query {
            base_dn: base_dn.to_string(),
            scope,
            filter: filter.to_string(),
            attributes,
            page_size: i32::from(settings.page_size),
        };
        let stream = request_page(ldap, settings, base, &query, Vec::new()).await?;
        Ok(Search {
            ldap: ldap.clone(),
            query,
            stream,
            pages: Pages::default(),
            base,
            done: false,
        })
    }

    /// The next entries, at most `max`; none once the search has ended, and succeeded: a result
    /// other than success (a size limit hit, a base that vanished) is an error, never a short
    /// listing.
    pub(super) async fn next_batch(
        &mut self,
        settings: &LdapSettings,
        max: usize,
    ) -> Result<Vec<Entry>, ConnectorError> {
        let mut batch = Vec::new();
        while !self.done && batch.len() < max {
            let base = self.base;
            let next = answer(settings, self.stream.next())
                .await?
                .map_err(|error| operation_error(error, settings, |r| search_error(r, base)))?;
            match next {
                Some(raw) => {
                    self.pages.entries += 1;
                    batch.push(Entry::parse(raw).ok_or_else(|| {
                        ConnectorError::Remote("the LDAP server sent a malformed entry".into())
                    })?)
                }
                None => {
                    let result = self.stream.finish().await;
                    if result.rc != rc::SUCCESS {
                        self.done = true;
                        return Err(search_error(&result, self.base));
                    }
                    match next_cookie(&result)? {
                        Some(cookie) => {
                            self.pages.next(&cookie)?;
                            self.stream = request_page(
                                &mut self.ldap,
                                settings,
                                self.base,
                                &self.query,
                                cookie,
                            )
                            .await?;
                        }
                        None => self.done = true,
                    }
                }
            }
        }
        Ok(batch)
    }

    /// Every remaining entry: only for searches known to match a few.
    pub(super) async fn collect(
        mut self,
        settings: &LdapSettings,
    ) -> Result<Vec<Entry>, ConnectorError> {
        let mut entries = Vec::new();
        loop {
            let batch = self.next_batch(settings, 64).await?;
            if batch.is_empty() {
                return Ok(entries);
            }
            entries.extend(batch);
        }
    }
}

/// Sends the search for the page after `cookie` (the first page: an empty cookie).
async fn request_page(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    base: Base,
    query: &Query,
    cookie: Vec<u8>,
) -> Result<Stream, ConnectorError> {
    // EntriesOnly drops search references (and intermediate messages) from the entries.
    let adapters: Vec<Box<dyn Adapter<'static, String, Vec<String>>>> =
        vec![Box::new(EntriesOnly::new())];
    let paged = PagedResults {
        size: query.page_size,
        cookie,
    };
    let start = ldap
        .with_timeout(settings.timeout)
        .with_controls(paged)
        .streaming_search_with(
            adapters,
            &query.base_dn,
            query.scope,
            &query.filter,
            query.attributes.clone(),
        );
    answer(settings, start)
        .await?
        .map_err(|error| operation_error(error, settings, |r| search_error(r, base)))
}

/// The cookie of the page that follows, from a page's result; `None` when it was the last
/// (an empty cookie, or a server that did not page at all).
fn next_cookie(result: &LdapResult) -> Result<Option<Vec<u8>>, ConnectorError> {
    let Some(control) = result.ctrls.iter().find(|c| c.1.ctype == PAGED_RESULTS_OID) else {
        return Ok(None);
    };
    let cookie = control
        .1
        .val
        .as_deref()
        .and_then(parse_cookie)
        .ok_or_else(|| {
            ConnectorError::Remote("the LDAP server sent a malformed paged-results control".into())
        })?;
    Ok((!cookie.is_empty()).then_some(cookie))
}

/// The cookie of a paged-results control value, `SEQUENCE { size INTEGER, cookie OCTET
/// STRING }`; `None` when it is not that.
fn parse_cookie(value: &[u8]) -> Option<Vec<u8>> {
    let (_, tag) = parse_tag(value).ok()?;
    let PL::C(parts) = tag.payload else {
        return None;
    };
    match parts.as_slice() {
        [size, cookie] if size.id == 2 && cookie.id == 4 => match &cookie.payload {
            PL::P(bytes) => Some(bytes.clone()),
            PL::C(_) => None,
        },
        _ => None,
    }
}

/// The pages of one search so far: a cookie the server sent before with no entry received since,
/// or more pages than the entries received could need, mean the listing would never end.
///
/// A cookie may come again after a page of entries: Samba's AD DC sends the same cookie for
/// every page of a search (it names the search, not the position).
#[derive(Debug, Default)]
struct Pages {
    cookies: HashSet<Vec<u8>>,
    entries: u64,
    /// `entries` when the last cookie was accepted.
    entries_at_last_cookie: u64,
    pages: u64,
}

impl Pages {
    /// Accepts `cookie` for the next page, or fails the listing.
    fn next(&mut self, cookie: &[u8]) -> Result<(), ConnectorError> {
        let progressed = self.entries > self.entries_at_last_cookie;
        self.entries_at_last_cookie = self.entries;
        self.pages += 1;
        if !self.cookies.insert(cookie.to_vec()) && !progressed {
            return Err(ConnectorError::Remote(
                "the LDAP server sent a paged-results cookie it had sent before: the listing \
                 would never end"
                    .into(),
            ));
        }
        let pages = self.pages;
        if pages > self.entries + EMPTY_PAGES_ALLOWED {
            return Err(ConnectorError::Remote(format!(
                "the LDAP server asked for {pages} pages for {} entries: the listing would \
                 never end",
                self.entries
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ldap3::controls::RawControl;

    use super::*;

    fn control_value(size: i32, cookie: &[u8]) -> Vec<u8> {
        let raw: RawControl = PagedResults {
            size,
            cookie: cookie.to_vec(),
        }
        .into();
        raw.val.expect("a value")
    }

    #[test]
    fn a_repeated_cookie_without_entries_since_fails_the_listing() {
        let mut pages = Pages {
            entries: 10,
            ..Pages::default()
        };
        pages.next(b"a").expect("first page");
        pages.entries += 5;
        pages.next(b"b").expect("second page");
        let error = pages
            .next(b"a")
            .expect_err("a cookie seen before, nothing new");
        assert!(error.to_string().contains("sent before"), "{error}");
    }

    #[test]
    fn the_same_cookie_after_each_page_of_entries_is_samba_paging() {
        let mut pages = Pages::default();
        for _ in 0..5 {
            pages.entries += 7;
            pages.next(b"search-1").expect("a page with entries");
        }
        let error = pages.next(b"search-1").expect_err("no entries since");
        assert!(error.to_string().contains("sent before"), "{error}");
    }

    #[test]
    fn endless_empty_pages_fail_the_listing() {
        let mut pages = Pages::default();
        let mut failed = None;
        for n in 0u32..1000 {
            if let Err(error) = pages.next(&n.to_be_bytes()) {
                failed = Some((n, error));
                break;
            }
        }
        let (n, error) = failed.expect("the empty pages are cut short");
        assert_eq!(u64::from(n), EMPTY_PAGES_ALLOWED);
        assert!(error.to_string().contains("pages for 0 entries"), "{error}");
    }

    #[test]
    fn a_cookie_is_read_from_a_control_and_garbage_is_refused_without_panicking() {
        assert_eq!(
            parse_cookie(&control_value(0, b"next")),
            Some(b"next".to_vec())
        );
        assert_eq!(parse_cookie(&control_value(5, b"")), Some(Vec::new()));
        for garbage in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x02\x01\x00",
            b"\x04\x02ab",
            b"\xff\xff",
        ] {
            assert_eq!(parse_cookie(garbage), None, "{garbage:?}");
        }
    }
}
