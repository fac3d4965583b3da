//! PostgreSQL connector: LOGIN roles are accounts, NOLOGIN roles are resources and role
//! memberships (`pg_auth_members`) are access. For now it only validates a setup.

use std::error::Error as StdError;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::error::{DbError, SqlState};
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{ConnectorError, Setup, SetupField};

/// How to reach one PostgreSQL cluster.
#[derive(Clone)]
pub struct PostgresSettings {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub username: String,
    /// Secret: never logged, never in errors, hidden by `Debug`.
    pub password: String,
    pub sslmode: SslMode,
    /// `LIKE` pattern restricting which roles later listing code looks at.
    pub role_pattern: Option<String>,
    /// Budget for the whole handshake (DNS, TCP, TLS, authentication) and for each check query.
    pub connect_timeout: Duration,
}

impl fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &"***")
            .field("sslmode", &self.sslmode)
            .field("role_pattern", &self.role_pattern)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// The libpq `sslmode` values Oblique supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyFull,
}

impl SslMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MODES
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| {
                format!("unknown sslmode {s:?}: expected disable, prefer, require or verify-full")
            })
    }
}

const MODES: [SslMode; 4] = [
    SslMode::Disable,
    SslMode::Prefer,
    SslMode::Require,
    SslMode::VerifyFull,
];

const fn field(
    name: &'static str,
    description: &'static str,
    required: bool,
    secret: bool,
    default: Option<&'static str>,
) -> SetupField {
    SetupField {
        name,
        description,
        required,
        secret,
        default,
    }
}

/// The setup form of the `postgres` integration type.
pub const SETUP_FIELDS: &[SetupField] = &[
    field(
        "host",
        "Host name or IP address of the PostgreSQL server",
        true,
        false,
        None,
    ),
    field("port", "TCP port", false, false, Some("5432")),
    field(
        "database",
        "Database to connect to",
        false,
        false,
        Some("postgres"),
    ),
    field("username", "Role Oblique logs in as", true, false, None),
    field("password", "Password of that role", true, true, None),
    field(
        "sslmode",
        "disable, prefer, require or verify-full (as in libpq)",
        false,
        false,
        Some("prefer"),
    ),
    field(
        "role_pattern",
        "SQL LIKE pattern limiting which roles are synced",
        false,
        false,
        None,
    ),
];

impl PostgresSettings {
    /// Reads a setup checked against [`SETUP_FIELDS`]; `connect_timeout` comes from the caller.
    pub fn from_setup(setup: &Setup, connect_timeout: Duration) -> Result<Self, ConnectorError> {
        let config = |name: &str| match setup.config(name).map(str::trim) {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err(invalid(&format!("config.{name}"), "is required")),
        };
        let port = config("port")?;
        let port = port.parse().ok().filter(|&port: &u16| port != 0);
        Ok(PostgresSettings {
            host: config("host")?,
            port: port.ok_or_else(|| invalid("config.port", "must be a number from 1 to 65535"))?,
            database: config("database")?,
            username: config("username")?,
            // Not trimmed: spaces may be part of a password.
            password: match setup.credential("password") {
                Some(password) if !password.is_empty() => password.to_string(),
                _ => return Err(invalid("credentials.password", "is required")),
            },
            sslmode: config("sslmode")?
                .parse()
                .map_err(|e: String| invalid("config.sslmode", e))?,
            role_pattern: config("role_pattern").ok(),
            connect_timeout,
        })
    }
}

/// Connects and spawns the connection task on tokio; the task ends when the client is dropped.
pub async fn connect(settings: &PostgresSettings) -> Result<Client, ConnectorError> {
    let config = build_config(settings)?;
    let tls = match settings.sslmode {
        SslMode::Disable => None,
        mode => Some(MakeRustlsConnect::new(tls_config(mode)?)),
    };
    let target = target(settings);
    let attempt = async {
        let client = match tls {
            None => {
                let (client, connection) = config.connect(NoTls).await?;
                spawn_connection(connection, target.clone());
                client
            }
            Some(tls) => {
                let (client, connection) = config.connect(tls).await?;
                spawn_connection(connection, target.clone());
                client
            }
        };
        Ok::<_, tokio_postgres::Error>(client)
    };
    // tokio-postgres bounds only the TCP connect: a peer that accepts and then stays silent, or
    // a slow DNS server, would otherwise hang validation forever.
    match tokio::time::timeout(settings.connect_timeout, attempt).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err(map_error(&error, settings)),
        Err(_) => Err(timed_out(settings)),
    }
}

/// Checks that the settings work: the role can log in and read `pg_roles` and `pg_auth_members`.
pub async fn validate(settings: &PostgresSettings) -> Result<(), ConnectorError> {
    let client = connect(settings).await?;
    for sql in [
        "SELECT count(*) FROM pg_catalog.pg_roles",
        "SELECT count(*) FROM pg_catalog.pg_auth_members",
    ] {
        match tokio::time::timeout(settings.connect_timeout, client.query_one(sql, &[])).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) if error.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                let reason = error
                    .as_db_error()
                    .map(DbError::message)
                    .unwrap_or_default();
                let message = format!("the role cannot read pg_roles / pg_auth_members: {reason}");
                return Err(invalid("config.username", message));
            }
            Ok(Err(error)) => return Err(map_error(&error, settings)),
            Err(_) => return Err(timed_out(settings)),
        }
    }
    Ok(())
}

fn build_config(settings: &PostgresSettings) -> Result<Config, ConnectorError> {
    // Empty values would make the driver fall back to the service's own OS user name.
    for (field, value) in [
        ("config.host", &settings.host),
        ("config.username", &settings.username),
        ("config.database", &settings.database),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(field, "must not be empty"));
        }
    }
    // A host starting with '/' makes tokio-postgres use a Unix socket on *our* machine, where
    // local trust authentication could let a caller in without any password.
    if settings.host.starts_with('/') {
        return Err(invalid("config.host", "must be a host name or IP address"));
    }
    let mut config = Config::new();
    config
        .host(&settings.host)
        .port(settings.port)
        .dbname(&settings.database)
        .user(&settings.username)
        .application_name("oblique")
        .connect_timeout(settings.connect_timeout)
        .ssl_mode(match settings.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
    if !settings.password.is_empty() {
        config.password(&settings.password);
    }
    Ok(config)
}

fn spawn_connection<F>(connection: F, target: String)
where
    F: Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%target, ?error, "PostgreSQL connection ended with an error");
        }
    });
}

fn tls_config(mode: SslMode) -> Result<ClientConfig, ConnectorError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectorError::Remote(format!("cannot set up TLS: {e}")))?;
    let config = match mode {
        SslMode::VerifyFull => builder.with_root_certificates(NATIVE_ROOTS.clone()),
        // libpq's prefer, like require, encrypts without checking the certificate. Most clusters
        // use self-signed ones (Debian's default "snakeoil"): verifying them here would make the
        // common "prefer" fail where "require" succeeds.
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider))),
    };
    Ok(config.with_no_client_auth())
}

/// Loaded once: the platform store does not change while we run and reading it costs disk work.
static NATIVE_ROOTS: LazyLock<Arc<RootCertStore>> = LazyLock::new(|| {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::warn!(%error, "cannot load a platform root certificate");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
    tracing::debug!(added, ignored, "loaded platform root certificates");
    Arc::new(roots)
});

/// Accepts any certificate, as libpq's `require` does: it defeats passive eavesdropping, not an
/// active middleman. Handshake signatures are still checked so the session really belongs to the
/// presented certificate: SCRAM channel binding (used when the server offers it) relies on that
/// to stop a middleman during authentication.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ConnectorError {
    ConnectorError::InvalidSetup {
        field: field.into(),
        message: message.into(),
    }
}

fn target(settings: &PostgresSettings) -> String {
    format!("{}:{}", settings.host, settings.port)
}

fn timed_out(settings: &PostgresSettings) -> ConnectorError {
    let (target, seconds) = (target(settings), settings.connect_timeout.as_secs_f64());
    ConnectorError::Unreachable(format!(
        "cannot reach PostgreSQL at {target}: no answer within {seconds}s"
    ))
}

/// The error and its causes. `io::Error::source` skips the error it wraps, so step into it with
/// `get_ref` instead: that is where tokio-rustls puts the `rustls::Error`.
fn causes<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut chain = vec![error];
    while let Some(&current) = chain.last().filter(|_| chain.len() < 16) {
        let wrapped = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref());
        match wrapped
            .map(|inner| inner as &(dyn StdError + 'static))
            .or_else(|| current.source())
        {
            Some(next) => chain.push(next),
            None => break,
        }
    }
    chain
}

fn map_error(error: &tokio_postgres::Error, settings: &PostgresSettings) -> ConnectorError {
    if let Some(db) = error.as_db_error() {
        return map_db_error(db);
    }
    let chain = causes(error);
    let reason = chain.last().map(|e| e.to_string()).unwrap_or_default();
    if let Some(tls) = chain.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
        let hint = match tls {
            rustls::Error::InvalidCertificate(_) => {
                " (verify-full needs a trusted certificate for config.host)"
            }
            _ => "",
        };
        return invalid(
            "config.sslmode",
            format!("TLS handshake failed: {tls}{hint}"),
        );
    }
    // The driver reports these with plain string causes, hence the text comparison.
    match reason.as_str() {
        "server does not support TLS" => {
            let mode = settings.sslmode.as_str();
            let message = format!("sslmode {mode} needs TLS, which the server does not offer");
            return invalid("config.sslmode", message);
        }
        "password missing" => {
            return invalid(
                "credentials.password",
                "the server asks for a password; none is set",
            );
        }
        _ => {}
    }
    if error.is_closed() || chain.iter().any(|e| e.is::<std::io::Error>()) {
        let target = target(settings);
        return ConnectorError::Unreachable(format!(
            "cannot reach PostgreSQL at {target}: {reason}"
        ));
    }
    match chain.len() {
        1 => ConnectorError::Remote(format!("PostgreSQL: {error}")),
        _ => ConnectorError::Remote(format!("PostgreSQL: {error}: {reason}")),
    }
}

fn map_db_error(db: &DbError) -> ConnectorError {
    let message = db.message();
    match db.code() {
        &SqlState::INVALID_PASSWORD => invalid(
            "credentials.password",
            format!("authentication failed: {message}"),
        ),
        // Also used for unknown or NOLOGIN roles and for pg_hba.conf rejections.
        &SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            let field = if message.contains("does not exist") || message.contains("not permitted") {
                "config.username"
            } else if message.contains("pg_hba.conf") && message.contains("no encryption") {
                "config.sslmode"
            } else {
                "credentials.password"
            };
            invalid(field, format!("not allowed to connect: {message}"))
        }
        &SqlState::INVALID_CATALOG_NAME => invalid("config.database", message),
        // At connect time: CONNECT on the database revoked.
        &SqlState::INSUFFICIENT_PRIVILEGE => {
            invalid("config.username", format!("permission denied: {message}"))
        }
        &SqlState::CANNOT_CONNECT_NOW | &SqlState::TOO_MANY_CONNECTIONS => {
            ConnectorError::Unreachable(format!(
                "PostgreSQL is not accepting connections: {message}"
            ))
        }
        code => ConnectorError::Remote(format!("PostgreSQL error {}: {message}", code.code())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "s3cret-Pw-1f9c";

    /// Runs a shell script in which `pg` runs a PostgreSQL binary as the postgres user: initdb and
    /// postgres refuse to run as root.
    fn sh(script: &str) -> std::io::Result<std::process::Output> {
        let pg = r#"pg() { p=/usr/lib/postgresql/15/bin/$1; shift
            if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$p" "$@"; else "$p" "$@"; fi; }"#;
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{pg}\n{script}"))
            .output()
    }

    /// A throwaway TLS-enabled cluster with SCRAM password authentication, removed on drop.
    struct Cluster(String);

    impl Cluster {
        fn start(port: u16) -> Cluster {
            let d = format!(
                "{}/oblique-pgtest-{}",
                std::env::temp_dir().display(),
                std::process::id()
            );
            let cluster = Cluster(d.clone());
            let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(format!("{d}/server.crt"), cert.cert.pem()).unwrap();
            std::fs::write(format!("{d}/server.key"), cert.key_pair.serialize_pem()).unwrap();
            std::fs::write(format!("{d}/pw"), PASSWORD).unwrap();
            let output = sh(&format!(
                "set -e; chmod 600 {d}/server.key; [ \"$(id -u)\" != 0 ] || chown -R postgres {d}
                pg initdb -D {d}/data -U postgres -A scram-sha-256 --pwfile={d}/pw --no-sync
                # In the file, not on the command line, so that ALTER SYSTEM can turn TLS off.
                printf \"ssl = on\\nssl_cert_file = '{d}/server.crt'\\nssl_key_file = '{d}/server.key'\\n\" \
                  >> {d}/data/postgresql.conf
                pg pg_ctl -D {d}/data -l {d}/log -w start -o '-p {port} -k {d} -c listen_addresses=127.0.0.1'"
            ));
            assert!(
                output.as_ref().is_ok_and(|o| o.status.success()),
                "{output:?}"
            );
            cluster
        }
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            // Errors ignored: this also runs while a failed test unwinds.
            let d = &self.0;
            let _ = sh(&format!(
                "pg pg_ctl -D {d}/data -m immediate -w stop; rm -rf {d}"
            ));
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn settings(port: u16, sslmode: SslMode) -> PostgresSettings {
        PostgresSettings {
            host: "127.0.0.1".into(),
            port,
            database: "postgres".into(),
            username: "postgres".into(),
            password: PASSWORD.into(),
            sslmode,
            role_pattern: None,
            connect_timeout: Duration::from_secs(10),
        }
    }

    #[track_caller]
    fn assert_invalid(result: Result<(), ConnectorError>, expected: &str, contains: &str) {
        match result {
            Err(ConnectorError::InvalidSetup { field, message }) if field == expected => {
                assert!(
                    message.contains(contains) && !message.contains(PASSWORD),
                    "{message}"
                );
            }
            other => panic!("expected InvalidSetup on {expected}, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn validates_against_a_throwaway_cluster() {
        let port = free_port();
        let _cluster = Cluster::start(port);
        let good = settings(port, SslMode::Disable);
        validate(&good).await.unwrap();
        for mode in [SslMode::Prefer, SslMode::Require] {
            let client = connect(&settings(port, mode)).await.unwrap();
            let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
            assert!(
                client.query_one(sql, &[]).await.unwrap().get::<_, bool>(0),
                "{mode:?}"
            );
        }
        assert_invalid(
            validate(&settings(port, SslMode::VerifyFull)).await,
            "config.sslmode",
            "UnknownIssuer",
        );

        let wrong = PostgresSettings {
            password: "not-it".into(),
            ..good.clone()
        };
        assert_invalid(
            validate(&wrong).await,
            "credentials.password",
            "password authentication failed",
        );
        let empty = PostgresSettings {
            password: String::new(),
            ..good.clone()
        };
        assert_invalid(
            validate(&empty).await,
            "credentials.password",
            "none is set",
        );
        let database = PostgresSettings {
            database: "nope".into(),
            ..good.clone()
        };
        assert_invalid(
            validate(&database).await,
            "config.database",
            "\"nope\" does not exist",
        );
        let socket = PostgresSettings {
            host: std::env::temp_dir().display().to_string(),
            ..good.clone()
        };
        assert_invalid(validate(&socket).await, "config.host", "host name");

        let admin = connect(&good).await.unwrap();
        for sql in [
            &format!("CREATE ROLE limited LOGIN PASSWORD '{PASSWORD}'"),
            "REVOKE SELECT ON pg_catalog.pg_auth_members FROM PUBLIC",
            "ALTER SYSTEM SET ssl = off", // one statement per call: not in a transaction block
            "SELECT pg_reload_conf()",
        ] {
            admin.batch_execute(sql).await.unwrap();
        }
        let limited = PostgresSettings {
            username: "limited".into(),
            ..good.clone()
        };
        assert_invalid(
            validate(&limited).await,
            "config.username",
            "cannot read pg_roles / pg_auth_members",
        );

        // The postmaster applies the reload asynchronously: wait until it stops offering TLS.
        let require = settings(port, SslMode::Require);
        let mut result = validate(&require).await;
        for _ in 0..50 {
            if result.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            result = validate(&require).await;
        }
        assert_invalid(result, "config.sslmode", "does not offer");
    }

    #[tokio::test]
    async fn classifies_servers_that_cannot_serve() {
        let mut refused = settings(free_port(), SslMode::Disable);
        let result = validate(&refused).await;
        assert!(
            matches!(&result, Err(ConnectorError::Unreachable(m)) if m.contains("refused")),
            "{result:?}"
        );
        refused.connect_timeout = Duration::from_millis(300);
        let dns = PostgresSettings {
            host: "nonexistent.invalid".into(),
            ..refused.clone()
        };
        assert!(matches!(
            validate(&dns).await,
            Err(ConnectorError::Unreachable(_))
        ));

        // The kernel completes the TCP handshake for the backlog, and then nobody answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = PostgresSettings { port, ..refused };
        let result = validate(&silent).await;
        assert!(
            matches!(&result, Err(ConnectorError::Unreachable(m)) if m.contains("no answer")),
            "{result:?}"
        );
    }

    #[test]
    fn reads_a_checked_setup() {
        let pairs = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let credentials = pairs(&[("password", PASSWORD)]);
        let config = pairs(&[("host", "db.internal"), ("username", "oblique")]);
        let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
        let read = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).unwrap();
        assert_eq!((read.port, read.database.as_str()), (5432, "postgres"));
        assert_eq!((read.sslmode, read.role_pattern), (SslMode::Prefer, None));
        assert_eq!(read.password, PASSWORD);
        for (key, value) in [("port", "0"), ("port", "x"), ("sslmode", "allow")] {
            let config = pairs(&[("host", "h"), ("username", "u"), (key, value)]);
            let setup = Setup::check(SETUP_FIELDS, config, credentials.clone()).unwrap();
            let result = PostgresSettings::from_setup(&setup, Duration::from_secs(3)).map(drop);
            assert_invalid(result, &format!("config.{key}"), "");
        }
    }

    #[test]
    fn parses_sslmode_and_hides_the_password() {
        for mode in MODES {
            assert_eq!(mode.as_str().parse::<SslMode>(), Ok(mode));
        }
        let error = "verify-ca".parse::<SslMode>().unwrap_err();
        assert!(
            error.contains("disable, prefer, require or verify-full"),
            "{error}"
        );
        let debug = format!("{:?}", settings(1, SslMode::Require));
        assert!(
            debug.contains("***") && !debug.contains(PASSWORD),
            "{debug}"
        );
    }
}
