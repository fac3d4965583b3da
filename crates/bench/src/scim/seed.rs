//! Seeding the SCIM service with the generated directory, fast and untimed: through /Bulk
//! (RFC 7644, 3.7) in requests within the limits the service announces, two at a time, else by
//! concurrent POSTs. Requests are built when sent, so that at most a few are in memory (the
//! process's peak RSS is one of the figures).
//!
//! User `i` is `user{i}` with the 8 attributes the connector maps (displayName, name.givenName,
//! name.familyName, title, active, externalId, and the enterprise extension's employeeNumber
//! and department) and one primary email; group `g` is `group{g}` with the members
//! [`DirectorySizes::members`] gives it.

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use oblique_testkit::scim::ScimAdmin;
use reqwest::Method;
use serde_json::{Value, json};

use crate::directory_sizes::DirectorySizes;

/// Attribute rows the connector lands per seeded user.
pub const USER_ATTRIBUTES: u64 = 8;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// Requests in flight: the server is one Python process, more would only queue there.
const CONCURRENT_BULKS: usize = 2;
/// Bytes of a /Bulk request at most, below the service's own limit: a request is held as a
/// serde_json tree several times its size, and the seeding must not set the process's peak
/// RSS (the sync's figure). Quarter-megabyte requests keep the server just as busy.
const BULK_REQUEST_BYTES: usize = 256 * 1024;
const CONCURRENT_POSTS: usize = 8;

/// What /Bulk accepts in one request.
#[derive(Debug, Clone, Copy)]
struct BulkLimits {
    operations: usize,
    payload_bytes: usize,
}

pub async fn seed(admin: &ScimAdmin, sizes: &DirectorySizes) -> anyhow::Result<()> {
    let limits = bulk_limits(admin).await?;
    let users = (0..sizes.users).map(user);
    let user_ids = create_all(admin, limits, "Users", sizes.users, users).await?;
    let groups = (0..sizes.groups).map(|g| {
        let members: Vec<&str> = sizes
            .members(g)
            .map(|u| user_ids[u as usize].as_str())
            .collect();
        group(g, &members)
    });
    create_all(admin, limits, "Groups", sizes.groups, groups).await?;
    for (collection, seeded) in [("Users", sizes.users), ("Groups", sizes.groups)] {
        let page = admin
            .request(Method::GET, &format!("{collection}?count=0"), None)
            .await?;
        let total = page["totalResults"].as_u64();
        anyhow::ensure!(
            total == Some(seeded),
            "{collection}: the server counts {total:?} after seeding {seeded}"
        );
    }
    Ok(())
}

fn user(i: u64) -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER],
        "userName": format!("user{i}"),
        "externalId": format!("ext-{i}"),
        "displayName": format!("User {i}"),
        "name": {"givenName": "User", "familyName": format!("Number{i}")},
        "title": format!("Engineer {}", i % 10),
        "active": true,
        "emails": [{"value": format!("user{i}@example.org"), "primary": true}],
        ENTERPRISE_USER: {"employeeNumber": format!("{i:07}"), "department": format!("D{}", i % 50)},
    })
}

fn group(g: u64, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    json!({"schemas": [GROUP_SCHEMA], "displayName": format!("group{g}"), "members": members})
}

/// /Bulk's limits from /ServiceProviderConfig; `None` when the service has no bulk.
async fn bulk_limits(admin: &ScimAdmin) -> anyhow::Result<Option<BulkLimits>> {
    let config = admin
        .request(Method::GET, "ServiceProviderConfig", None)
        .await?;
    let bulk = &config["bulk"];
    if bulk["supported"] != json!(true) {
        return Ok(None);
    }
    let limit = |name: &str| bulk[name].as_u64().filter(|n| *n > 0).map(|n| n as usize);
    Ok(limit("maxOperations")
        .zip(limit("maxPayloadSize"))
        .map(|(operations, payload_bytes)| BulkLimits {
            operations,
            payload_bytes,
        }))
}

/// Creates `count` resources of `collection` made by `resources`, in order; answers their ids.
async fn create_all(
    admin: &ScimAdmin,
    limits: Option<BulkLimits>,
    collection: &str,
    count: u64,
    resources: impl Iterator<Item = Value>,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(count as usize);
    match limits {
        Some(limits) => {
            let batches = batches(resources, limits, collection);
            let mut done = futures::stream::iter(batches)
                .map(|operations| bulk(admin, operations))
                .buffered(CONCURRENT_BULKS);
            while let Some(batch) = done.try_next().await? {
                ids.extend(batch);
            }
        }
        None => {
            let posts = resources.map(|resource| async move {
                let created = admin
                    .request(Method::POST, collection, Some(&resource))
                    .await?;
                id_in(&created["id"], "id")
            });
            let mut done = futures::stream::iter(posts).buffered(CONCURRENT_POSTS);
            while let Some(id) = done.try_next().await? {
                ids.push(id);
            }
        }
    }
    anyhow::ensure!(
        ids.len() as u64 == count,
        "{collection}: {} of {count} created",
        ids.len()
    );
    Ok(ids)
}

/// POST operations, cut into requests within `limits` (with room for the envelope), each made
/// when the stream reaches it.
fn batches(
    resources: impl Iterator<Item = Value>,
    limits: BulkLimits,
    collection: &str,
) -> impl Iterator<Item = Vec<Value>> {
    let budget = (limits.payload_bytes * 9 / 10).min(BULK_REQUEST_BYTES);
    let path = format!("/{collection}");
    let mut operations = resources.enumerate().map(move |(index, data)| {
        json!({"method": "POST", "path": path, "bulkId": format!("b{index}"), "data": data})
    });
    // The operation that did not fit into the previous request.
    let mut pending: Option<Value> = None;
    std::iter::from_fn(move || {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < limits.operations {
            let Some(operation) = pending.take().or_else(|| operations.next()) else {
                break;
            };
            let size = operation.to_string().len() + 1;
            if !batch.is_empty() && bytes + size > budget {
                pending = Some(operation);
                break;
            }
            bytes += size;
            batch.push(operation);
        }
        (!batch.is_empty()).then_some(batch)
    })
}

/// Sends one /Bulk request; answers the created ids in the operations' order.
async fn bulk(admin: &ScimAdmin, operations: Vec<Value>) -> anyhow::Result<Vec<String>> {
    let sent = operations.len();
    let body = json!({"schemas": [BULK_REQUEST], "failOnErrors": 1, "Operations": operations});
    let response = admin.request(Method::POST, "Bulk", Some(&body)).await?;
    let results = response["Operations"]
        .as_array()
        .context("a BulkResponse without Operations")?;
    anyhow::ensure!(
        results.len() == sent,
        "{} results for {sent} operations",
        results.len()
    );
    results
        .iter()
        .map(|result| {
            let status = match &result["status"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if !status.starts_with('2') {
                bail!("a bulk operation failed: {result}");
            }
            let location = id_in(&result["location"], "location")?;
            Ok(location.rsplit('/').next().unwrap_or_default().to_string())
        })
        .collect()
}

fn id_in(value: &Value, what: &str) -> anyhow::Result<String> {
    value
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no {what} in a created resource"))
}
