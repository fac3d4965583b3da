//! HTTP to the SCIM service: one reqwest client per connector (its connections are reused), the
//! credentials on every request, `429` and `503` retried after `Retry-After` with a bounded
//! backoff, and every answer read into JSON or turned into a clear error: an error body's
//! `scimType` and `detail`, a body that is not JSON, cut short or too big. Never a panic.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::errors::{answer_text, transport_error};
use super::settings::{Auth, ScimSettings};
use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;
use crate::connectors::tls::{self, Verification};

/// Retries of one request the service answered `429` or `503`, after the first attempt.
const MAX_RETRIES: u32 = 3;
/// The longest wait before a retry, whatever `Retry-After` asks.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The wait before the first retry when the service gives no `Retry-After`; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The largest answer read: a bigger one is refused rather than held in memory.
const MAX_BODY_BYTES: usize = 64 << 20;

/// The SCIM media type (RFC 7644, 3.1); plain JSON is accepted as well.
const SCIM_JSON: &str = "application/scim+json";

/// Talks to one service with one setup's credentials.
#[derive(Debug)]
pub(super) struct ScimClient {
    http: reqwest::Client,
    base_url: Url,
    /// Marked sensitive: never shown by `Debug` or logs.
    authorization: HeaderValue,
    /// The setup field a refusal of the credentials is reported against.
    pub(super) credential_field: &'static str,
    timeout: Duration,
}

/// An answer read to its end.
#[derive(Debug)]
pub(super) struct Reply {
    /// `GET /scim/v2/Users` …: what was asked, for messages.
    pub what: String,
    pub status: StatusCode,
    /// The `ETag` header, for `If-Match`.
    pub etag: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

impl ScimClient {
    pub(super) fn new(settings: &ScimSettings) -> Result<Self, ConnectorError> {
        // Verified against the machine's roots, host name included: the scim type has no
        // ca_cert field.
        let tls = tls::client_config(&Verification::Full(None))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            // A redirect is reported, not followed: the credentials go to base_url only.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("oblique/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::Remote(format!("cannot set up HTTP: {e}")))?;
        Ok(ScimClient {
            http,
            base_url: settings.base_url.clone(),
            authorization: authorization(&settings.auth)?,
            credential_field: settings.auth.credential_field(),
            timeout: settings.timeout,
        })
    }

    /// The URL of `segments` under the base URL (each escaped as a path segment: an id from
    /// the service cannot step out of its collection) with `query`.
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// GETs `url` and reads the answer as JSON; any status but 2xx is an error.
    pub(super) async fn get_json(&self, url: Url) -> Result<Value, ConnectorError> {
        let reply = self.send(Method::GET, url, None, None).await?;
        if !reply.status.is_success() {
            return Err(self.refused(&reply));
        }
        reply.json()
    }

    /// Sends one request (retrying `429` and `503` as the module says) and reads the answer,
    /// whatever its status: the caller decides what a status means.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Reply, ConnectorError> {
        let what = format!("{method} {}", url.path());
        let body = body.map(|json| Bytes::from(json.to_string()));
        let mut retries = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(header::AUTHORIZATION, self.authorization.clone())
                .header(header::ACCEPT, format!("{SCIM_JSON}, application/json"));
            if let Some(body) = &body {
                request = request
                    .header(header::CONTENT_TYPE, SCIM_JSON)
                    .body(body.clone());
            }
            if let Some(etag) = if_match {
                request = request.header(header::IF_MATCH, etag);
            }
            let response = request
                .send()
                .await
                .map_err(|e| transport_error(&what, &self.base_url, self.timeout, e))?;
            let status = response.status();
            let throttled = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            if throttled && retries < MAX_RETRIES {
                let wait = retry_after(response.headers())
                    .unwrap_or(FIRST_BACKOFF * 2u32.pow(retries))
                    .min(MAX_RETRY_WAIT);
                tracing::debug!(%what, %status, ?wait, "SCIM service asks to wait; retrying");
                drop(response);
                tokio::time::sleep(wait).await;
                retries += 1;
                continue;
            }
            return self.read(what, response).await;
        }
    }

    async fn read(
        &self,
        what: String,
        mut response: reqwest::Response,
    ) -> Result<Reply, ConnectorError> {
        let status = response.status();
        let header = |name| {
            let value: Option<&HeaderValue> = response.headers().get(name);
            value.and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let etag = header(header::ETAG);
        let content_type = header(header::CONTENT_TYPE);
        if status.is_redirection() {
            let to = header(header::LOCATION).unwrap_or_default();
            return Err(invalid(
                "config.base_url",
                format!("{what}: the service redirects to {to:?}; set base_url to where it points"),
            ));
        }
        let too_big = || {
            ConnectorError::Remote(format!(
                "{what}: the answer is larger than {} MiB; lower config.page_size",
                MAX_BODY_BYTES >> 20
            ))
        };
        if response
            .content_length()
            .is_some_and(|length| length > MAX_BODY_BYTES as u64)
        {
            return Err(too_big());
        }
        let mut body = BytesMut::new();
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| transport_error(&what, &self.base_url, self.timeout, e))?;
            let Some(chunk) = chunk else { break };
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            what,
            status,
            etag,
            content_type,
            body: body.freeze(),
        })
    }

    /// The error a non-2xx answer means: a refusal of the credentials names their field, an
    /// unavailable service is unreachable, anything else quotes the service's SCIM error.
    pub(super) fn refused(&self, reply: &Reply) -> ConnectorError {
        let text = answer_text(reply.status, &reply.body);
        let what = &reply.what;
        match reply.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => invalid(
                self.credential_field,
                format!("{what}: the service refused the credentials: {text}"),
            ),
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                ConnectorError::Unreachable(format!(
                    "{what}: the service is still busy after {MAX_RETRIES} retries: {text}"
                ))
            }
            _ => ConnectorError::Remote(format!("{what}: {text}")),
        }
    }
}

impl Reply {
    /// The body as JSON; an empty, cut or non-JSON body is an error saying what came instead.
    pub(super) fn json(&self) -> Result<Value, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            let kind = self.content_type.as_deref().unwrap_or("no content type");
            let begins = super::errors::excerpt(&self.body);
            ConnectorError::Remote(format!(
                "{}: the answer (HTTP {}, {kind}) is not JSON ({error}); it begins: {begins:?}",
                self.what,
                self.status.as_u16()
            ))
        })
    }

    /// The SCIM error's `scimType`, when the body is one.
    pub(super) fn scim_type(&self) -> Option<String> {
        let json: Value = serde_json::from_slice(&self.body).ok()?;
        json.get("scimType")?.as_str().map(str::to_string)
    }
}

/// The `Authorization` header of every request, marked sensitive.
fn authorization(auth: &Auth) -> Result<HeaderValue, ConnectorError> {
    use base64::Engine;
    let (value, field) = match auth {
        Auth::Bearer { token } => (
            format!("Bearer {}", token.expose_secret()),
            "credentials.bearer_token",
        ),
        Auth::Basic { username, password } => {
            let pair = format!("{username}:{}", password.expose_secret());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            (format!("Basic {encoded}"), "credentials.password")
        }
    };
    let mut header = HeaderValue::from_str(&value)
        .map_err(|_| invalid(field, "holds characters an HTTP header cannot carry"))?;
    header.set_sensitive(true);
    Ok(header)
}

/// How long `Retry-After` asks to wait: seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "in the past");
        let soon = (chrono::Utc::now() + chrono::TimeDelta::seconds(120)).to_rfc2822();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&soon).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn the_authorization_header_is_sensitive_and_checked() {
        let bearer = authorization(&Auth::Bearer {
            token: "t0ken".into(),
        })
        .unwrap();
        assert!(bearer.is_sensitive());
        assert_eq!(bearer.to_str().unwrap(), "Bearer t0ken");
        let basic = authorization(&Auth::Basic {
            username: "Aladdin".into(),
            password: "open sesame".into(),
        })
        .unwrap();
        assert_eq!(
            basic.to_str().unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        let broken = authorization(&Auth::Bearer {
            token: "line\nbreak".into(),
        });
        assert!(
            matches!(broken, Err(ConnectorError::InvalidSetup { ref field, .. }) if field == "credentials.bearer_token"),
            "{broken:?}"
        );
    }

    #[test]
    fn urls_escape_ids_as_path_segments() {
        let settings = ScimSettings {
            base_url: Url::parse("https://scim.example/api/v2/").unwrap(),
            allow_plaintext: false,
            auth: Auth::Bearer { token: "t".into() },
            page_size: 10,
            user_filter: None,
            group_filter: None,
            timeout: Duration::from_secs(1),
        };
        let client = ScimClient::new(&settings).unwrap();
        let url = client.url(&["Groups", "../Users/x y"], &[("filter", "a eq \"b\"")]);
        assert_eq!(
            url.as_str(),
            "https://scim.example/api/v2/Groups/..%2FUsers%2Fx%20y?filter=a+eq+%22b%22"
        );
    }
}
