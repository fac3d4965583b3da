//! An administrator of a SCIM service, over HTTP: what tests seed and check "by hand".

use anyhow::{Context, bail};
use serde_json::{Value, json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// An administrator of the service: creates users and groups and reads them back, as the
/// tests' "by hand" changes and checks.
#[derive(Clone, Debug)]
pub struct ScimAdmin {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl ScimAdmin {
    pub fn new(base_url: &str, token: &str) -> ScimAdmin {
        ScimAdmin {
            http: http_client(),
            base_url: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    /// Sends `body` (if any) and answers the JSON the service sent back (`null` when none);
    /// any status but 2xx is an error quoting the answer.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/{}", self.base_url, path.trim_start_matches('/'));
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{method} {url}: {status}: {text}");
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {url}: {text}"))
    }

    /// Creates a user named `user_name` with the attributes of `extra` (an object) and answers
    /// its id.
    pub async fn create_user(&self, user_name: &str, extra: Value) -> anyhow::Result<String> {
        let mut user = json!({"schemas": [USER_SCHEMA], "userName": user_name});
        if let (Some(user), Value::Object(extra)) = (user.as_object_mut(), extra) {
            user.extend(extra);
        }
        let created = self
            .request(reqwest::Method::POST, "Users", Some(&user))
            .await?;
        id_of(&created)
    }

    /// Creates `count` users `<prefix><n>` with emails `<prefix><n>@example.org`; answers their
    /// ids in order.
    pub async fn create_users(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::with_capacity(count);
        for n in 0..count {
            let email = json!({"emails": [{"value": format!("{prefix}{n}@example.org")}]});
            ids.push(self.create_user(&format!("{prefix}{n}"), email).await?);
        }
        Ok(ids)
    }

    /// Creates a group `name` whose members are the users `members` (ids); answers its id.
    pub async fn create_group(&self, name: &str, members: &[&str]) -> anyhow::Result<String> {
        let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
        let mut group = json!({"schemas": [GROUP_SCHEMA], "displayName": name});
        if !members.is_empty() {
            group["members"] = Value::Array(members);
        }
        let created = self
            .request(reqwest::Method::POST, "Groups", Some(&group))
            .await?;
        id_of(&created)
    }

    /// The group's member ids, sorted.
    pub async fn members(&self, group: &str) -> anyhow::Result<Vec<String>> {
        let group = self
            .request(reqwest::Method::GET, &format!("Groups/{group}"), None)
            .await?;
        let mut ids: Vec<String> = group["members"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|member| member["value"].as_str().map(str::to_string))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The ids of the groups whose displayName is `name`.
    pub async fn groups_named(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let filter = format!("displayName eq {}", Value::String(name.to_string()));
        let url = reqwest::Url::parse_with_params(
            &format!("{}/Groups", self.base_url),
            [("filter", filter.as_str()), ("attributes", "id")],
        )?;
        let path = format!("Groups?{}", url.query().unwrap_or_default());
        let page = self.request(reqwest::Method::GET, &path, None).await?;
        Ok(page["Resources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|group| group["id"].as_str().map(str::to_string))
            .collect())
    }

    /// Adds the user to the group, as an administrator would by hand.
    pub async fn add_member(&self, group: &str, user: &str) -> anyhow::Result<()> {
        let operation = json!({"op": "add", "path": "members", "value": [{"value": user}]});
        self.patch_group(group, operation).await
    }

    /// Removes the user from the group, as an administrator would by hand.
    pub async fn remove_member(&self, group: &str, user: &str) -> anyhow::Result<()> {
        let path = format!("members[value eq {}]", Value::String(user.to_string()));
        self.patch_group(group, json!({"op": "remove", "path": path}))
            .await
    }

    async fn patch_group(&self, group: &str, operation: Value) -> anyhow::Result<()> {
        let body = json!({"schemas": [PATCH_OP], "Operations": [operation]});
        self.request(
            reqwest::Method::PATCH,
            &format!("Groups/{group}"),
            Some(&body),
        )
        .await?;
        Ok(())
    }
}

/// A client for plain http: reqwest still wants a TLS configuration, and the workspace's build
/// of it has no default crypto provider.
fn http_client() -> reqwest::Client {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .expect("an HTTP client")
}

fn id_of(resource: &Value) -> anyhow::Result<String> {
    resource["id"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no id in {resource}"))
}
