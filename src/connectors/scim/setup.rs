//! The setup form of the `scim` integration type, and reading a checked setup into settings.

use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};

use super::settings::{Auth, ScimSettings};
use crate::connectors::setup::{field, invalid};
use crate::connectors::{ConnectorError, Setup, SetupField};

/// The largest page a setup may ask for: servers cap pages well below this anyway (RFC 7644
/// lets them return fewer than asked).
const MAX_PAGE_SIZE: u64 = 10_000;
const MAX_TIMEOUT_SECONDS: u64 = 3600;

/// The setup form of the `scim` integration type.
pub const SETUP_FIELDS: &[SetupField] = &[
    field(
        "base_url",
        "https:// URL of the SCIM 2.0 service, up to where /Users and /Groups begin (e.g. \
         https://example.org/scim/v2); http:// only with allow_plaintext",
        true,
        false,
        None,
    ),
    field(
        "allow_plaintext",
        "true to allow an http:// base_url: the token or password and all users then cross the \
         network unencrypted",
        false,
        false,
        Some("false"),
    ),
    field(
        "auth",
        "bearer (credentials.bearer_token) or basic (username and credentials.password)",
        false,
        false,
        Some("bearer"),
    ),
    field("username", "User name for auth basic", false, false, None),
    field(
        "bearer_token",
        "Bearer token of the SCIM service, for auth bearer",
        false,
        true,
        None,
    ),
    field("password", "Password, for auth basic", false, true, None),
    field(
        "page_size",
        "Users or groups asked for per request (count); servers may send fewer",
        false,
        false,
        Some("100"),
    ),
    field(
        "user_filter",
        "SCIM filter selecting the users to sync, e.g. active eq true (default: all)",
        false,
        false,
        None,
    ),
    field(
        "group_filter",
        "SCIM filter selecting the groups to sync, e.g. displayName sw \"app-\" (default: all)",
        false,
        false,
        None,
    ),
    field(
        "timeout",
        "Seconds to wait for any one request, from connecting to the end of the answer",
        false,
        false,
        Some("30"),
    ),
];

/// The config fields that decide where the credentials are sent and how they are protected on
/// the way: changing one must come with the credentials again.
pub const CREDENTIAL_DESTINATION_FIELDS: &[&str] =
    &["base_url", "allow_plaintext", "auth", "username"];

impl ScimSettings {
    /// Reads a setup checked against [`SETUP_FIELDS`].
    pub fn from_setup(setup: &Setup) -> Result<Self, ConnectorError> {
        let config = |name: &str| {
            setup
                .config(name)
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let required = |name: &str| {
            config(name).ok_or_else(|| invalid(format!("config.{name}"), "is required"))
        };
        let allow_plaintext = boolean(required("allow_plaintext")?, "config.allow_plaintext")?;
        let base_url = base_url(required("base_url")?, allow_plaintext)?;
        Ok(ScimSettings {
            base_url,
            allow_plaintext,
            auth: auth(setup, required("auth")?, config("username"))?,
            page_size: number(required("page_size")?, "config.page_size", MAX_PAGE_SIZE)? as u32,
            user_filter: filter(config("user_filter"), "config.user_filter")?,
            group_filter: filter(config("group_filter"), "config.group_filter")?,
            timeout: Duration::from_secs(number(
                required("timeout")?,
                "config.timeout",
                MAX_TIMEOUT_SECONDS,
            )?),
        })
    }
}

/// An absolute http(s) URL with a host and nothing a request would lose or leak: no user or
/// password (credentials go in their own fields), no query, no fragment. `http://` only with
/// `allow_plaintext`: the token would cross the network as it is.
fn base_url(value: &str, allow_plaintext: bool) -> Result<Url, ConnectorError> {
    let bad = |why: &str| invalid("config.base_url", why.to_string());
    let mut url = Url::parse(value).map_err(|e| bad(&format!("not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_plaintext => {}
        "http" => {
            return Err(bad(
                "http:// would send the credentials unencrypted: use https://, or set \
                 allow_plaintext to true to accept that",
            ));
        }
        _ => {
            return Err(bad(
                "must start with https:// (or http:// with allow_plaintext)",
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not carry a user or password: use config.username and credentials",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The credential that `auth` needs, present, and none that it would ignore: a password left
/// beside a bearer token would be stored, never used, and mislead whoever reads the setup.
fn auth(setup: &Setup, kind: &str, username: Option<&str>) -> Result<Auth, ConnectorError> {
    // Not trimmed: spaces may be part of a secret.
    let secret = |name: &str| -> Option<SecretString> {
        setup
            .credential(name)
            .filter(|value| !value.expose_secret().is_empty())
            .cloned()
    };
    let unused = |name: &str, kind: &str| {
        invalid(name, format!("is not used with auth {kind}: leave it out"))
    };
    match kind.to_ascii_lowercase().as_str() {
        "bearer" => {
            if secret("password").is_some() {
                return Err(unused("credentials.password", "bearer"));
            }
            if username.is_some() {
                return Err(unused("config.username", "bearer"));
            }
            let token = secret("bearer_token")
                .ok_or_else(|| invalid("credentials.bearer_token", "is required"))?;
            Ok(Auth::Bearer { token })
        }
        "basic" => {
            if secret("bearer_token").is_some() {
                return Err(unused("credentials.bearer_token", "basic"));
            }
            let username = username
                .ok_or_else(|| invalid("config.username", "is required with auth basic"))?;
            if username.contains(':') {
                // HTTP Basic joins user and password with the first colon.
                return Err(invalid("config.username", "must not contain ':'"));
            }
            let password =
                secret("password").ok_or_else(|| invalid("credentials.password", "is required"))?;
            Ok(Auth::Basic {
                username: username.to_string(),
                password,
            })
        }
        _ => Err(invalid("config.auth", "must be bearer or basic")),
    }
}

/// A filter is the server's to parse (its answer to a bad one names `field` at setup); here
/// only what would break the request itself is refused.
fn filter(value: Option<&str>, field: &str) -> Result<Option<String>, ConnectorError> {
    match value {
        Some(text) if text.chars().any(char::is_control) => {
            Err(invalid(field, "must not contain control characters"))
        }
        other => Ok(other.map(str::to_string)),
    }
}

fn boolean(value: &str, field: &str) -> Result<bool, ConnectorError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(field, "must be true or false")),
    }
}

fn number(value: &str, field: &str, max: u64) -> Result<u64, ConnectorError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| invalid(field, format!("must be a whole number from 1 to {max}")))
}

/// What a setup gives up of TLS, for the caller to see with the integration. Read from the
/// stored config alone.
pub fn setup_warnings(setup: &Setup) -> Vec<String> {
    let plaintext = setup
        .config("allow_plaintext")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let http = setup
        .config("base_url")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
        .starts_with("http://");
    if plaintext && http {
        vec![
            "allow_plaintext is set: the credentials and all users cross the network \
             unencrypted"
                .to_string(),
        ]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
