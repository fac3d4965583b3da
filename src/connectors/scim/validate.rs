//! The check a new or changed setup passes before it is saved, and what the service announces
//! of itself (`/ServiceProviderConfig`, RFC 7643 section 5).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::client::ScimClient;
use super::listing::{self, ListPage, Query};
use super::settings::ScimSettings;
use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;

/// What the service announces that changes how Oblique talks to it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ServiceConfig {
    /// `etag.supported`: changes carry `If-Match`.
    pub etag: bool,
}

/// The service's `/ServiceProviderConfig`; the defaults when it has none (404).
pub(super) async fn service_config(client: &ScimClient) -> Result<ServiceConfig, ConnectorError> {
    let url = client.url(&["ServiceProviderConfig"], &[]);
    let reply = client.send(Method::GET, url, None, None).await?;
    match reply.status {
        StatusCode::NOT_FOUND => Ok(ServiceConfig::default()),
        status if !status.is_success() => Err(client.refused(&reply)),
        _ => {
            let json = reply.json()?;
            let etag = json
                .as_object()
                .and_then(|config| find(config, "etag"))
                .and_then(Value::as_object)
                .and_then(|etag| find(etag, "supported"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok(ServiceConfig { etag })
        }
    }
}

/// Checks that the setup works: the service answers as SCIM, takes the credentials (the
/// ServiceProviderConfig may be public, RFC 7644 section 4, so the collections are read too)
/// and accepts the filters.
pub(super) async fn validate(
    client: &ScimClient,
    settings: &ScimSettings,
) -> Result<(), ConnectorError> {
    service_config(client).await.map_err(not_scim)?;
    check_collection(client, listing::users(settings), "config.user_filter").await?;
    check_collection(client, listing::groups(settings), "config.group_filter").await
}

/// Reads one resource of the collection, as the listing will.
async fn check_collection(
    client: &ScimClient,
    query: Query,
    filter_field: &str,
) -> Result<(), ConnectorError> {
    let mut params = vec![("count", "1")];
    if let Some(filter) = &query.filter {
        params.push(("filter", filter.as_str()));
    }
    params.push(query.shape);
    let url = client.url(&[query.collection], &params);
    let reply = client.send(Method::GET, url, None, None).await?;
    let what = &reply.what;
    match reply.status {
        status if status.is_success() => {
            ListPage::read(what, reply.json()?).map_err(not_scim)?;
            Ok(())
        }
        StatusCode::BAD_REQUEST if query.filter.is_some() => {
            let refused = client.refused(&reply).to_string();
            Err(invalid(
                filter_field,
                format!("the service refuses it: {refused}"),
            ))
        }
        StatusCode::NOT_FOUND => Err(invalid(
            "config.base_url",
            format!(
                "{what}: not found; base_url must be where the service's /Users and /Groups \
                 begin (e.g. https://example.org/scim/v2)"
            ),
        )),
        _ => Err(client.refused(&reply)),
    }
}

/// An answer that is no SCIM answer at setup: base_url most likely points elsewhere.
fn not_scim(error: ConnectorError) -> ConnectorError {
    match error {
        ConnectorError::Remote(message) => invalid(
            "config.base_url",
            format!("does not answer as a SCIM service: {message}"),
        ),
        other => other,
    }
}

fn find<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}
