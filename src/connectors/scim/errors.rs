//! What a failed request tells the caller: a transport failure (unreachable, timed out, TLS
//! refused) or what the service answered, with its SCIM error (`scimType`, `detail`) quoted.
//! Secrets are cut out later, for every connector alike (see `connectors::redact`).

use std::error::Error;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;
use crate::connectors::tls::{is_untrusted_issuer, is_wrong_name};

/// How much of an unexpected body a message quotes.
const EXCERPT_CHARS: usize = 120;

/// A request that got no complete answer.
pub(super) fn transport_error(
    what: &str,
    base_url: &Url,
    timeout: Duration,
    error: reqwest::Error,
) -> ConnectorError {
    let error = error.without_url();
    if let Some(tls) = rustls_error(&error) {
        let host = base_url.host_str().unwrap_or_default();
        let why = if is_untrusted_issuer(tls) {
            "the service's certificate is not signed by a CA this machine trusts".to_string()
        } else if is_wrong_name(tls) {
            format!("the service's certificate does not name {host}")
        } else {
            tls.to_string()
        };
        return invalid("config.base_url", format!("TLS with {host} failed: {why}"));
    }
    if error.is_timeout() {
        return ConnectorError::Unreachable(format!(
            "{what}: {base_url} did not answer within {} s (config.timeout)",
            timeout.as_secs()
        ));
    }
    if error.is_connect() {
        return ConnectorError::Unreachable(format!("cannot reach {base_url}: {}", causes(&error)));
    }
    if error.is_body() || error.is_decode() {
        return ConnectorError::Remote(format!(
            "{what}: the answer was cut short: {}",
            causes(&error)
        ));
    }
    ConnectorError::Unreachable(format!("{what}: {}", causes(&error)))
}

/// The error and its causes, each once ("error sending request: client error (Connect): tcp
/// connect error: Connection refused (os error 111)").
fn causes(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        if !parts.iter().any(|known| known.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// The TLS error under a failed request. rustls' error travels inside an `io::Error`, whose
/// `source()` skips it, so each `io::Error` of the chain is looked into.
fn rustls_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if inner.is_some() {
            return inner;
        }
        current = error.source();
    }
    None
}

/// A non-2xx answer in words: `HTTP 400 invalidFilter: <detail>` for a SCIM error body, the
/// status and an excerpt of anything else.
pub(super) fn answer_text(status: StatusCode, body: &[u8]) -> String {
    let code = status.as_u16();
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        let value = json.as_ref()?.get(name)?;
        match value {
            Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    };
    match (field("scimType"), field("detail")) {
        (Some(kind), Some(detail)) => format!("HTTP {code} {kind}: {detail}"),
        (None, Some(detail)) => format!("HTTP {code}: {detail}"),
        (Some(kind), None) => format!("HTTP {code} {kind}"),
        (None, None) if body.iter().all(u8::is_ascii_whitespace) => format!(
            "HTTP {code} {}",
            status.canonical_reason().unwrap_or_default()
        )
        .trim_end()
        .to_string(),
        (None, None) => format!(
            "HTTP {code}, not a SCIM error; the answer begins: {:?}",
            excerpt(body)
        ),
    }
}

/// The start of a body as text, for a message.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        excerpt.push('…');
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scim_errors_are_quoted_and_other_bodies_excerpted() {
        let scim = br#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "status": "400", "scimType": "invalidFilter",
                        "detail": "invalid syntax at column 16"}"#;
        assert_eq!(
            answer_text(StatusCode::BAD_REQUEST, scim),
            "HTTP 400 invalidFilter: invalid syntax at column 16"
        );
        let detail_only = br#"{"status": 404, "detail": "Group 'x' not found"}"#;
        assert_eq!(
            answer_text(StatusCode::NOT_FOUND, detail_only),
            "HTTP 404: Group 'x' not found"
        );
        assert_eq!(
            answer_text(StatusCode::INTERNAL_SERVER_ERROR, b""),
            "HTTP 500 Internal Server Error"
        );
        let html = "<html><body>".to_string() + &"x".repeat(500);
        let text = answer_text(StatusCode::BAD_GATEWAY, html.as_bytes());
        assert!(text.starts_with("HTTP 502, not a SCIM error"), "{text}");
        assert!(text.contains("<html>") && text.len() < 300, "{text}");
        let binary = answer_text(StatusCode::BAD_REQUEST, &[0xff, 0xfe, 0x00]);
        assert!(binary.starts_with("HTTP 400"), "{binary}");
    }
}
