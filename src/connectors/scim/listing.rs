//! What a sync pulls: `/Users` as accounts, `/Groups` as resources and the groups' `members`
//! as access (servers do not all fill `User.groups`), each a paged listing (RFC 7644, 3.4.2.4).
//!
//! Pages are asked for by `startIndex` and `count`, one request per page and one page in
//! memory. The next page starts after what this one held, not after what was asked for, since
//! a service may return fewer than `count`. When `totalResults` drops between two pages, objects
//! were deleted meanwhile and the rest shifted towards the start: the next page starts that
//! many earlier, so that none is skipped (objects listed twice are harmless; the engine counts
//! each once). The listing ends at an empty page, or past the latest `totalResults` after a
//! page that was not full.

use futures::StreamExt;
use serde_json::Value;

use super::client::ScimClient;
use super::decode;
use super::settings::ScimSettings;
use crate::connectors::{
    ConnectorError, Listed, PageStream, RemoteAccess, RemoteAccount, RemoteResource,
};

/// One listing's requests: the collection, the setup's filter and which attributes to get.
#[derive(Debug, Clone)]
pub(super) struct Query {
    pub collection: &'static str,
    pub filter: Option<String>,
    /// `attributes` / `excludedAttributes` (RFC 7644, 3.4.2.5): what the listing leaves out.
    pub shape: (&'static str, &'static str),
}

pub(super) fn users(settings: &ScimSettings) -> Query {
    Query {
        collection: "Users",
        filter: settings.user_filter.clone(),
        // `groups` is computed by the service for each user, and read from /Groups anyway.
        shape: ("excludedAttributes", "groups"),
    }
}

/// Groups without their members: a big group's members are read once, by the access listing.
pub(super) fn groups(settings: &ScimSettings) -> Query {
    Query {
        collection: "Groups",
        filter: settings.group_filter.clone(),
        shape: ("excludedAttributes", "members"),
    }
}

/// Groups with only their members (and `id`, which is always returned).
pub(super) fn group_members(settings: &ScimSettings) -> Query {
    Query {
        collection: "Groups",
        filter: settings.group_filter.clone(),
        shape: ("attributes", "members"),
    }
}

pub(super) fn accounts<'a>(
    client: &'a ScimClient,
    settings: &ScimSettings,
) -> PageStream<'a, RemoteAccount> {
    paged(client, settings.page_size, users(settings), |user, out| {
        out.push(decode::account(user))
    })
}

pub(super) fn resources<'a>(
    client: &'a ScimClient,
    settings: &ScimSettings,
) -> PageStream<'a, RemoteResource> {
    paged(
        client,
        settings.page_size,
        groups(settings),
        |group, out| out.push(decode::group(group)),
    )
}

pub(super) fn access<'a>(
    client: &'a ScimClient,
    settings: &ScimSettings,
) -> PageStream<'a, RemoteAccess> {
    paged(
        client,
        settings.page_size,
        group_members(settings),
        decode::memberships,
    )
}

/// Reads one resource of a page into the items it stands for.
type Read<T> = fn(&Value, &mut Vec<Listed<T>>);

/// Where a listing is.
struct Cursor {
    query: Query,
    page_size: u32,
    /// 1-based index of the next page's first resource.
    start: u64,
    /// The latest `totalResults`, when the service sends it.
    total: Option<u64>,
    /// The id of the last page's first resource: a service that ignores `startIndex` sends
    /// the same page again, which must not go on forever.
    last_first_id: Option<String>,
    done: bool,
}

impl Cursor {
    /// Moves past a page that held `received` resources of `total`.
    fn advance(&mut self, received: u64, total: Option<u64>) {
        let deleted = match (self.total, total) {
            (Some(before), Some(now)) if now < before => before - now,
            _ => 0,
        };
        // Always forward, even when more were deleted than this page held.
        self.start += received.saturating_sub(deleted).max(1);
        self.total = total.or(self.total);
        // A full page is never taken for the last: some services count only the page they
        // sent as totalResults, and stopping there would take the rest for deleted. The next
        // request then finds the end (an empty page) or more.
        let full = received >= u64::from(self.page_size);
        self.done = !full && self.total.is_some_and(|total| self.start > total);
    }
}

/// The listing of `query` as a stream of pages, one request each. A failed request is one `Err`
/// page, after which the stream ends: the engine must not take the rest for deleted.
pub(super) fn paged<'a, T: Send + 'a>(
    client: &'a ScimClient,
    page_size: u32,
    query: Query,
    read: Read<T>,
) -> PageStream<'a, T> {
    let cursor = Cursor {
        query,
        page_size,
        start: 1,
        total: None,
        last_first_id: None,
        done: false,
    };
    futures::stream::unfold(cursor, move |mut cursor| async move {
        if cursor.done {
            return None;
        }
        match next_page(client, &mut cursor, read).await {
            Ok(Some(items)) => Some((Ok(items), cursor)),
            Ok(None) => None,
            Err(error) => {
                cursor.done = true;
                Some((Err(error), cursor))
            }
        }
    })
    .boxed()
}

/// The next page's items; `None` when the listing is complete.
async fn next_page<T>(
    client: &ScimClient,
    cursor: &mut Cursor,
    read: Read<T>,
) -> Result<Option<Vec<Listed<T>>>, ConnectorError> {
    let (start, count) = (cursor.start.to_string(), cursor.page_size.to_string());
    let mut query = vec![("startIndex", start.as_str()), ("count", count.as_str())];
    if let Some(filter) = &cursor.query.filter {
        query.push(("filter", filter));
    }
    query.push(cursor.query.shape);
    let url = client.url(&[cursor.query.collection], &query);
    let what = format!("GET {} from index {}", url.path(), cursor.start);
    let page = ListPage::read(&what, client.get_json(url).await?)?;
    if page.resources.is_empty() {
        if let Some(total) = page.total.filter(|total| cursor.start <= *total) {
            // Ending here would take the rest for deleted.
            return Err(ConnectorError::Remote(format!(
                "{what}: the service sent no resources, yet counts {total}; the listing is \
                 incomplete"
            )));
        }
        return Ok(None);
    }
    let first_id = page.resources[0].get("id").map(Value::to_string);
    if cursor.start > 1 && first_id.is_some() && first_id == cursor.last_first_id {
        return Err(ConnectorError::Remote(format!(
            "{what}: the service sent the previous page again (does it ignore startIndex?)"
        )));
    }
    cursor.advance(page.resources.len() as u64, page.total);
    cursor.last_first_id = first_id;
    let mut items = Vec::with_capacity(page.resources.len());
    for resource in &page.resources {
        read(resource, &mut items);
    }
    Ok(Some(items))
}

/// A ListResponse (RFC 7644, 3.4.2), checked only as far as paging needs.
pub(super) struct ListPage {
    pub resources: Vec<Value>,
    pub total: Option<u64>,
}

impl ListPage {
    pub(super) fn read(what: &str, json: Value) -> Result<ListPage, ConnectorError> {
        let wrong =
            |why: &str| ConnectorError::Remote(format!("{what}: not a SCIM ListResponse: {why}"));
        let Value::Object(mut page) = json else {
            return Err(wrong("not a JSON object"));
        };
        let total = match take(&mut page, "totalResults") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_u64()
                    .ok_or_else(|| wrong("totalResults is not a whole number"))?,
            ),
        };
        // Absent when there are none (RFC 7644: REQUIRED only if totalResults is not zero).
        let resources = match take(&mut page, "Resources") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(resources)) => resources,
            Some(_) => return Err(wrong("Resources is not a list")),
        };
        Ok(ListPage { resources, total })
    }
}

/// Takes the member `name` (in any case, as SCIM names are) out of `object`.
fn take(object: &mut serde_json::Map<String, Value>, name: &str) -> Option<Value> {
    let key = object
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))?
        .clone();
    object.remove(&key)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cursor(page_size: u32) -> Cursor {
        Cursor {
            query: Query {
                collection: "Users",
                filter: None,
                shape: ("attributes", "id"),
            },
            page_size,
            start: 1,
            total: None,
            last_first_id: None,
            done: false,
        }
    }

    #[test]
    fn short_pages_deletions_and_miscounted_totals_skip_nobody() {
        // Fewer than asked: the next page starts after what came.
        let mut short = cursor(100);
        short.advance(40, Some(250));
        assert_eq!((short.start, short.done), (41, false));
        // Ten deleted meanwhile: the rest moved ten places towards the start.
        short.advance(100, Some(240));
        assert_eq!((short.start, short.done), (131, false));
        short.advance(100, Some(240));
        assert_eq!(short.start, 231);
        short.advance(10, Some(240));
        assert!(short.done, "past the total with a page that was not full");
        // A service counting only the page it sent: a full page asks again.
        let mut miscounted = cursor(100);
        miscounted.advance(100, Some(100));
        assert_eq!((miscounted.start, miscounted.done), (101, false));
        // No totalResults: on until an empty page.
        let mut uncounted = cursor(100);
        uncounted.advance(7, None);
        assert!(!uncounted.done);
        // More deleted than the page held: still forward.
        let mut shrinking = cursor(5);
        shrinking.advance(5, Some(100));
        shrinking.advance(5, Some(10));
        assert_eq!(shrinking.start, 7);
    }

    #[test]
    fn list_pages_are_checked_as_far_as_paging_needs() {
        let page = ListPage::read(
            "GET /Users",
            json!({"totalResults": 3, "Resources": [{"id": "a"}], "startIndex": 1}),
        )
        .unwrap();
        assert_eq!((page.total, page.resources.len()), (Some(3), 1));
        let empty = ListPage::read("GET /Users", json!({"totalresults": 0})).unwrap();
        assert_eq!((empty.total, empty.resources.len()), (Some(0), 0));
        for bad in [
            json!([]),
            json!({"totalResults": "3"}),
            json!({"totalResults": -1}),
            json!({"Resources": {"id": "a"}}),
        ] {
            let error = ListPage::read("GET /Users", bad.clone()).err();
            assert!(
                matches!(&error, Some(ConnectorError::Remote(m)) if m.contains("ListResponse")),
                "{bad}: {error:?}"
            );
        }
    }
}
