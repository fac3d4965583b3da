//! How to reach one SCIM service and what to read from it, as read from an integration's setup.

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

/// How Oblique authenticates to the service. Secrets are never logged, never in errors, hidden
/// by `Debug`.
#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer <bearer_token>` (what Okta, Entra ID, Slack … hand out).
    Bearer { token: SecretString },
    /// HTTP Basic with the setup's `username` and `password`.
    Basic {
        username: String,
        password: SecretString,
    },
}

impl Auth {
    /// The credential a refusal by the service is reported against.
    pub fn credential_field(&self) -> &'static str {
        match self {
            Auth::Bearer { .. } => "credentials.bearer_token",
            Auth::Basic { .. } => "credentials.password",
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer { .. } => f.write_str("Bearer { token: *** }"),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
        }
    }
}

/// How to reach one SCIM 2.0 service provider.
#[derive(Clone, Debug)]
pub struct ScimSettings {
    /// The service's base URL (`https://host/scim/v2`), always ending in `/`, so that
    /// `Users`, `Groups` … join under it.
    pub base_url: Url,
    /// The caller accepted an `http://` base URL: the credentials cross the network in clear.
    pub allow_plaintext: bool,
    pub auth: Auth,
    /// Resources asked for per listing request (`count`); servers may return fewer.
    pub page_size: u32,
    /// SCIM filter expressions passed through as `filter`, as the setup wrote them.
    pub user_filter: Option<String>,
    pub group_filter: Option<String>,
    /// Budget of each request, from connecting to the last byte of the answer.
    pub timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secrets() {
        for auth in [
            Auth::Bearer {
                token: "s3cret-Token-91".into(),
            },
            Auth::Basic {
                username: "oblique".into(),
                password: "s3cret-Token-91".into(),
            },
        ] {
            let settings = ScimSettings {
                base_url: Url::parse("https://scim.example/v2/").unwrap(),
                allow_plaintext: false,
                auth,
                page_size: 100,
                user_filter: None,
                group_filter: None,
                timeout: Duration::from_secs(1),
            };
            let debug = format!("{settings:?}");
            assert!(
                debug.contains("***") && !debug.contains("s3cret"),
                "{debug}"
            );
        }
    }
}
