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

use crate::free_port;

mod admin;

pub use admin::ScimAdmin;

/// How long a starting server may take to answer (either is ready in about a second when idle).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

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
