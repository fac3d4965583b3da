//! Throwaway SCIM 2.0 services on a free port of 127.0.0.1, each a real implementation of
//! RFC 7643/7644 keeping Users and Groups in memory. Dropping a [`ScimServer`] ends the process.
//!
//! - `scim2-server` (PyPI; filters, PATCH, ETags): what the tests use. The binary is found
//!   through `OBLIQUE_SCIM2_SERVER`, else `/opt/oblique-venv/bin/scim2-server` (where `.ci/run`
//!   installs it: `python3 -m venv /opt/oblique-venv && /opt/oblique-venv/bin/pip install
//!   scim2-server`), else `PATH`.
//! - SCIMMY (npm: `scimmy` and `scimmy-routers`, over this crate's `scimmy/server.mjs`): a
//!   second, independent implementation, to catch what the connector assumes of one dialect.
//!   It needs `node` and `npm ci --prefix crates/testkit/scimmy` (`.ci/run` does both).
//!
//! Starting one blocks (a process, polling): call it from `spawn_blocking` in async code.
//! [`ScimAdmin`] seeds and reads a service over HTTP, as an administrator would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::free_port;

/// How long a starting server may take to answer (either is ready in about a second when idle).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Which SCIM implementation a [`ScimServer`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    Scim2Server,
    Scimmy,
}

/// A running SCIM service.
pub struct ScimServer {
    implementation: Implementation,
    child: Option<Child>,
    port: u16,
    token: String,
    /// The server's output, shown when it fails to start.
    log: tempfile::NamedTempFile,
}

impl ScimServer {
    /// A `scim2-server` accepting `token`, once it answers.
    pub fn start(token: &str) -> anyhow::Result<Self> {
        Self::start_accepting(&[token])
    }

    /// A `scim2-server` accepting each of `tokens` (the first is [`ScimServer::token`]).
    pub fn start_accepting(tokens: &[&str]) -> anyhow::Result<Self> {
        Self::launch(Implementation::Scim2Server, tokens)
    }

    /// A SCIMMY service accepting `token`, once it answers.
    pub fn start_scimmy(token: &str) -> anyhow::Result<Self> {
        Self::launch(Implementation::Scimmy, &[token])
    }

    fn launch(implementation: Implementation, tokens: &[&str]) -> anyhow::Result<Self> {
        let token = *tokens.first().context("no token")?;
        let mut log_text = String::new();
        // Another process may take the free port between our probe and the server's bind.
        for _ in 0..5 {
            let log = tempfile::Builder::new()
                .prefix("oblique-scim-server-")
                .suffix(".log")
                .tempfile()?;
            let output = log.reopen()?;
            let port = free_port();
            let child = command(implementation, port, tokens)?
                .stdin(Stdio::null())
                .stdout(output.try_clone()?)
                .stderr(output)
                .spawn()
                .with_context(|| {
                    format!("starting {implementation:?} (see crates/testkit/src/scim.rs)")
                })?;
            let mut server = ScimServer {
                implementation,
                child: Some(child),
                port,
                token: token.to_string(),
                log,
            };
            if server.wait_ready()? {
                return Ok(server);
            }
            log_text = std::fs::read_to_string(server.log.path()).unwrap_or_default();
            if !log_text.contains("Address already in use") && !log_text.contains("EADDRINUSE") {
                break;
            }
        }
        bail!("{implementation:?} did not start:\n{log_text}")
    }

    /// The service's base URL, where /Users and /Groups begin (plain http: a loopback server).
    pub fn base_url(&self) -> String {
        match self.implementation {
            Implementation::Scim2Server => format!("http://127.0.0.1:{}", self.port),
            Implementation::Scimmy => format!("http://127.0.0.1:{}/scim/v2", self.port),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// A client seeding and reading this service.
    pub fn admin(&self) -> ScimAdmin {
        ScimAdmin::new(&self.base_url(), &self.token)
    }

    /// Ends the server; requests to its port are refused from then on. Its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the server answers HTTP; `false` if it exited or took too long.
    fn wait_ready(&mut self) -> anyhow::Result<bool> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if answers(self.port) {
                return Ok(true);
            }
            let child = self.child.as_mut().context("no process")?;
            if child.try_wait()?.is_some() || Instant::now() > deadline {
                self.stop();
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ScimServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The command that serves `implementation` on `port`, accepting `tokens`.
fn command(implementation: Implementation, port: u16, tokens: &[&str]) -> anyhow::Result<Command> {
    match implementation {
        Implementation::Scim2Server => {
            let mut command = Command::new(scim2_server());
            command
                .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
                .args(tokens.iter().flat_map(|token| ["--bearer-token", *token]));
            Ok(command)
        }
        Implementation::Scimmy => {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scimmy");
            if !dir.join("node_modules").is_dir() {
                bail!("SCIMMY is not installed: npm ci --prefix {}", dir.display());
            }
            if tokens.len() != 1 {
                bail!("the SCIMMY service accepts one token");
            }
            let mut command = Command::new("node");
            command
                .current_dir(&dir)
                .arg(dir.join("server.mjs"))
                .arg(port.to_string())
                .arg(tokens[0]);
            Ok(command)
        }
    }
}

/// Whether something answers HTTP on the port (any status: SCIMMY wants a token everywhere).
fn answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET / HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 7];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/1."
}

fn scim2_server() -> PathBuf {
    if let Some(path) = std::env::var_os("OBLIQUE_SCIM2_SERVER") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from("/opt/oblique-venv/bin/scim2-server");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("scim2-server")
    }
}

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
