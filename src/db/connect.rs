//! The one way to connect to Oblique's own database: a URL (postgres://… or key=value) becomes a
//! tokio-postgres connection with the TLS its `sslmode` and `sslrootcert` ask for. The pool, the
//! event listener, staging, migrations and the CLI all go through here.
//!
//! tokio-postgres refuses parameters it does not know (`sslrootcert`) and knows only
//! disable/prefer/require, so those two are taken out of the URL and handled here.
//!
//! Every connection has TCP keepalives on a short idle time and a TCP user timeout: a server or
//! network that vanished without closing the socket (a half-open connection) is noticed within
//! about a minute instead of the two hours of the system defaults. The URL's own
//! `keepalives_idle`/`keepalives_interval`/`keepalives_retries`/`tcp_user_timeout` win.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use tokio_postgres::config::Host;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::{SslMode, TlsSetupError, client_config};

/// The stream under every connection: plain or TLS, decided at connect time.
pub type TlsStream = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream;

#[derive(Debug, thiserror::Error)]
pub enum DbConnectError {
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// tokio-postgres's message names the bad part, never the password.
    #[error("invalid database URL: {}", with_causes(.0))]
    Url(tokio_postgres::Error),
    #[error("{}", with_causes(.0))]
    Postgres(#[from] tokio_postgres::Error),
}

/// tokio-postgres says only "db error" or "error performing TLS handshake"; the reason (the
/// server's message, the certificate problem) is in the source chain.
fn with_causes(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// A parsed database URL: where to connect and with which TLS.
pub struct Target {
    pub config: Config,
    pub ssl_mode: SslMode,
    tls: HostlessTls,
}

/// rustls for tokio-postgres, which asks for a TLS connector even for a Unix socket, whose empty
/// host name rustls refuses. No TLS runs there (see `Target::parse`): any valid name does.
#[derive(Clone)]
struct HostlessTls(MakeRustlsConnect);

impl MakeTlsConnect<Socket> for HostlessTls {
    type Stream = TlsStream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<Socket>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Error;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<Self::TlsConnect, Self::Error> {
        let name = if hostname.is_empty() {
            "localhost"
        } else {
            hostname
        };
        MakeTlsConnect::<Socket>::make_tls_connect(&mut self.0, name)
    }
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, DbConnectError> {
        let (rest, ssl) = take_ssl_parameters(url);
        let ssl_mode = match ssl.mode.as_deref() {
            None => SslMode::Prefer, // libpq's default
            Some(text) => SslMode::parse(text)?,
        };
        let mut config = Config::from_str(&rest).map_err(DbConnectError::Url)?;
        detect_dead_peers(&mut config, &rest);
        config.ssl_mode(match ssl_mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        // As libpq does, sslmode is ignored over a Unix socket: the server there never offers
        // TLS, and nobody but the local host can be in the middle.
        if config
            .get_hosts()
            .iter()
            .all(|host| matches!(host, Host::Unix(_)))
            && !config.get_hosts().is_empty()
        {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        }
        let tls = HostlessTls(MakeRustlsConnect::new(client_config(
            ssl_mode,
            ssl.root_cert.as_deref(),
        )?));
        Ok(Target {
            config,
            ssl_mode,
            tls,
        })
    }

    pub async fn connect(&self) -> Result<(Client, Connection<Socket, TlsStream>), DbConnectError> {
        Ok(self.config.connect(self.tls.clone()).await?)
    }
}

/// Idle time before the first keepalive probe, the time between probes, and how many may go
/// unanswered: a silent peer is given up after 30 s + 3 × 10 s.
const KEEPALIVES_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVES_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVES_RETRIES: u32 = 3;
/// Data sent but not acknowledged for this long ends the connection (keepalives only probe an
/// idle one).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);

/// Keepalives and a user timeout, unless the URL (`rest`, parsed into `config`) sets its own.
fn detect_dead_peers(config: &mut Config, rest: &str) {
    let given = |key: &str| rest.contains(key);
    if !given("keepalives_idle") {
        config.keepalives_idle(KEEPALIVES_IDLE);
    }
    if !given("keepalives_interval") {
        config.keepalives_interval(KEEPALIVES_INTERVAL);
    }
    if !given("keepalives_retries") {
        config.keepalives_retries(KEEPALIVES_RETRIES);
    }
    if !given("tcp_user_timeout") {
        config.tcp_user_timeout(TCP_USER_TIMEOUT);
    }
}

/// Connects with the TLS the URL asks for; the caller drives (spawns) the connection.
pub async fn connect(url: &str) -> Result<(Client, Connection<Socket, TlsStream>), DbConnectError> {
    Target::parse(url)?.connect().await
}

/// A diesel-async connection over `connect`.
pub async fn establish(url: &str) -> diesel::ConnectionResult<AsyncPgConnection> {
    let (client, connection) = connect(url)
        .await
        .map_err(|error| ConnectionError::BadConnection(format!("{error:#}")))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

#[derive(Debug, Default, PartialEq)]
struct SslParameters {
    mode: Option<String>,
    root_cert: Option<PathBuf>,
}

/// Removes `sslmode` and `sslrootcert` from a URL or key=value string; returns the rest and them.
fn take_ssl_parameters(url: &str) -> (String, SslParameters) {
    let mut ssl = SslParameters::default();
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            ssl.mode = Some(value);
            true
        }
        "sslrootcert" => {
            ssl.root_cert = Some(PathBuf::from(value));
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_string(),
            Some((head, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        !take(key, percent_decode(value))
                    })
                    .collect();
                match kept.is_empty() {
                    true => head.to_string(),
                    false => format!("{head}?{}", kept.join("&")),
                }
            }
        }
    } else {
        let kept: Vec<String> = key_value_pairs(url)
            .into_iter()
            .filter(|(key, value)| !take(key, value.clone()))
            .map(|(key, value)| {
                format!(
                    "{key}='{}'",
                    value.replace('\\', "\\\\").replace('\'', "\\'")
                )
            })
            .collect();
        kept.join(" ")
    };
    (rest, ssl)
}

/// libpq's key=value form: values may be single-quoted, with backslash escapes.
fn key_value_pairs(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if key.is_empty() {
            return pairs;
        }
        while chars.next_if(|c| c.is_whitespace() || *c == '=').is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                match c {
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        }
        pairs.push((key, value));
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters, for a URL's host or user part.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests;
