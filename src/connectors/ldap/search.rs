//! Every search the connector runs: Simple Paged Results (RFC 2696) so that a server's size
//! limit never truncates a listing, search references (referrals) skipped, entries streamed.

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, Scope, SearchStream};

use super::connect::answer;
use super::entry::Entry;
use super::errors::{operation_error, rc, search_error};
use super::settings::{Base, LdapSettings};
use crate::connectors::ConnectorError;

type Stream = SearchStream<'static, String, Vec<String>>;

/// A search whose entries are being received.
pub(super) struct Search {
    stream: Stream,
    base: Base,
    done: bool,
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
        // EntriesOnly drops search references (and intermediate messages) from the entries;
        // PagedResults asks for the next page each time one ends.
        let adapters: Vec<Box<dyn Adapter<'static, String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(i32::from(settings.page_size))),
        ];
        let start = ldap
            .with_timeout(settings.timeout)
            .streaming_search_with(adapters, base_dn, scope, filter, attributes);
        let stream = answer(settings, start)
            .await?
            .map_err(|error| operation_error(error, settings, |r| search_error(r, base)))?;
        Ok(Search {
            stream,
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
            let next = answer(settings, self.stream.next())
                .await?
                .map_err(|error| {
                    operation_error(error, settings, |r| search_error(r, self.base))
                })?;
            match next {
                Some(raw) => batch.push(Entry::parse(raw).ok_or_else(|| {
                    ConnectorError::Remote("the LDAP server sent a malformed entry".into())
                })?),
                None => {
                    self.done = true;
                    let result = self.stream.finish().await;
                    if result.rc != rc::SUCCESS {
                        return Err(search_error(&result, self.base));
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
