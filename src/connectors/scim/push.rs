//! What a push changes: a group's members through `PATCH /Groups/{id}` (RFC 7644, 3.5.2), and
//! new groups through `POST /Groups`. Both member changes are idempotent: adding a member that
//! is there and removing one that is not are success, whichever way the service says "already".
//! When the service announces ETags, each change carries `If-Match` with the group's version.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::ScimConnector;
use super::client::Reply;
use super::decode;
use super::listing::ListPage;
use crate::connectors::{ConnectorError, RemoteResource};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Tries of one change whose `If-Match` lost a race with another change of the group.
const VERSION_TRIES: usize = 3;

/// Adds `account` to `group`; success when it already is a member.
pub(super) async fn add_member(
    connector: &ScimConnector,
    group: &str,
    account: &str,
) -> Result<(), ConnectorError> {
    // Some services add a member that is there already a second time (SCIMMY does), where
    // RFC 7644 has them ignore it: asked first, when the service can answer that filter.
    if is_member(connector, group, account).await? == Some(true) {
        return Ok(());
    }
    let operation = json!({"op": "add", "path": "members", "value": [{"value": account}]});
    match patch(connector, group, account, operation).await? {
        None => Ok(()),
        // Others refuse it (409, or 400 invalidValue): that is the state asked for, too.
        Some(reply)
            if matches!(reply.status, StatusCode::CONFLICT | StatusCode::BAD_REQUEST)
                && is_member(connector, group, account).await? == Some(true) =>
        {
            Ok(())
        }
        Some(reply) => Err(connector.client.refused(&reply)),
    }
}

/// Removes `account` from `group`; success when it is not a member.
pub(super) async fn remove_member(
    connector: &ScimConnector,
    group: &str,
    account: &str,
) -> Result<(), ConnectorError> {
    let path = format!("members[value eq {}]", quoted(account));
    let operation = json!({"op": "remove", "path": path});
    match patch(connector, group, account, operation).await? {
        None => Ok(()),
        // RFC 7644, 3.5.2.2: a filter that matches no member is a 400 noTarget.
        Some(reply)
            if reply.status == StatusCode::BAD_REQUEST
                && reply.scim_type().as_deref() == Some("noTarget") =>
        {
            Ok(())
        }
        Some(reply) => Err(connector.client.refused(&reply)),
    }
}

/// Creates a group named `name`. A name already taken is an error, never adopted: adopting
/// someone else's group would hand its members to Oblique.
pub(super) async fn create_group(
    connector: &ScimConnector,
    name: &str,
) -> Result<RemoteResource, ConnectorError> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(ConnectorError::Remote(format!(
            "{name:?} is not a valid group name"
        )));
    }
    let taken = || ConnectorError::Remote(format!("a group named {name:?} already exists"));
    // Services need not keep displayName unique (scim2-server does not): ask first.
    let filter = format!("displayName eq {}", quoted(name));
    if exists(connector, &filter).await? {
        return Err(taken());
    }
    let client = &connector.client;
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
    let reply = client
        .send(
            Method::POST,
            client.url(&["Groups"], &[]),
            Some(&body),
            None,
        )
        .await?;
    match reply.status {
        StatusCode::CONFLICT => return Err(taken()),
        status if !status.is_success() => return Err(client.refused(&reply)),
        _ => {}
    }
    let created = decode::group(&reply.json()?).map_err(|problem| {
        ConnectorError::Remote(format!(
            "{}: the created group cannot be read: {}",
            reply.what, problem.message
        ))
    })?;
    // A group the listings cannot see would be taken for deleted by the next sync.
    if let Some(group_filter) = &connector.settings.group_filter {
        let visible = format!(
            "({group_filter}) and id eq {}",
            quoted(&created.external_id)
        );
        if !exists(connector, &visible).await? {
            let url = client.url(&["Groups", &created.external_id], &[]);
            let _ = client.send(Method::DELETE, url, None, None).await;
            return Err(ConnectorError::Remote(format!(
                "a group named {name:?} would not match config.group_filter: not created"
            )));
        }
    }
    Ok(RemoteResource {
        member_names: Vec::new(),
        name: name.to_string(),
        ..created
    })
}

/// PATCHes `group` with `operation` (about `account`); `None` when the service applied it, the
/// answer when it refused: what a refusal means depends on the operation.
async fn patch(
    connector: &ScimConnector,
    group: &str,
    account: &str,
    operation: Value,
) -> Result<Option<Reply>, ConnectorError> {
    for id in [group, account] {
        if id.trim().is_empty() || id == "." || id == ".." {
            return Err(ConnectorError::Remote(format!("{id:?} is not a SCIM id")));
        }
    }
    let client = &connector.client;
    let body = json!({"schemas": [PATCH_OP], "Operations": [operation]});
    let url = client.url(&["Groups", group], &[]);
    let etags = connector.etag_support().await?;
    let mut tries = 0;
    loop {
        tries += 1;
        let version = match etags {
            true => version(connector, group).await?,
            false => None,
        };
        let reply = client
            .send(Method::PATCH, url.clone(), Some(&body), version.as_deref())
            .await?;
        match reply.status {
            status if status.is_success() => return Ok(None),
            StatusCode::NOT_FOUND => return Err(gone(group)),
            // The group changed between reading its version and the change: read it again.
            StatusCode::PRECONDITION_FAILED if version.is_some() && tries < VERSION_TRIES => {}
            _ => return Ok(Some(reply)),
        }
    }
}

/// The group's current version, for `If-Match`: its `ETag`, else `meta.version`.
async fn version(connector: &ScimConnector, group: &str) -> Result<Option<String>, ConnectorError> {
    let client = &connector.client;
    let url = client.url(&["Groups", group], &[("attributes", "id")]);
    let reply = client.send(Method::GET, url, None, None).await?;
    match reply.status {
        StatusCode::NOT_FOUND => Err(gone(group)),
        status if !status.is_success() => Err(client.refused(&reply)),
        _ if reply.etag.is_some() => Ok(reply.etag),
        _ => Ok(reply
            .json()?
            .pointer("/meta/version")
            .and_then(Value::as_str)
            .map(str::to_string)),
    }
}

/// Whether `account` is a member of `group`; `None` when the service cannot filter groups by
/// member (some accept only their own form of that filter).
async fn is_member(
    connector: &ScimConnector,
    group: &str,
    account: &str,
) -> Result<Option<bool>, ConnectorError> {
    let filter = format!(
        "id eq {} and members[value eq {}]",
        quoted(group),
        quoted(account)
    );
    Ok(matching(connector, &filter).await?.ok())
}

/// Whether some group matches `filter`.
async fn exists(connector: &ScimConnector, filter: &str) -> Result<bool, ConnectorError> {
    let matched = matching(connector, filter).await?;
    matched.map_err(|refusal| connector.client.refused(&refusal))
}

/// Whether some group matches `filter`, or the service's answer when it refuses the filter
/// (400).
async fn matching(
    connector: &ScimConnector,
    filter: &str,
) -> Result<Result<bool, Reply>, ConnectorError> {
    let client = &connector.client;
    let query = [("filter", filter), ("attributes", "id"), ("count", "1")];
    let url = client.url(&["Groups"], &query);
    let reply = client.send(Method::GET, url, None, None).await?;
    match reply.status {
        StatusCode::BAD_REQUEST => Ok(Err(reply)),
        status if !status.is_success() => Err(client.refused(&reply)),
        _ => {
            let what = format!("{} with filter {filter}", reply.what);
            let page = ListPage::read(&what, reply.json()?)?;
            Ok(Ok(
                !page.resources.is_empty() || page.total.is_some_and(|total| total > 0)
            ))
        }
    }
}

fn gone(group: &str) -> ConnectorError {
    ConnectorError::Remote(format!(
        "group {group} no longer exists on the SCIM service"
    ))
}

/// `text` as a SCIM filter string literal, which is written as JSON writes strings.
fn quoted(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_literals_escape_quotes_and_backslashes() {
        assert_eq!(quoted("plain"), "\"plain\"");
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
