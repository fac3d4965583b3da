//! The `oblique` command line: serve, migrate, manage API tokens and keys on the machine, and
//! the client commands that call a running server (`client`).

pub mod admin_token_file;
pub mod check_config;
pub mod client;
pub mod database;
pub mod keys;
pub mod serve;
pub mod token;

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::auth::Role;
use crate::logging::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "oblique",
    version,
    about = "Oblique integrations service: syncs users, resources and access with external \
             systems, driven over gRPC",
    long_about = "Oblique integrations service.\n\n\
        Connects Oblique to an organisation's external systems (directories, databases, SaaS \
        apps), pulls users, attributes, resources and access from them, and pushes Oblique's \
        access decisions back. Admins drive it over gRPC (e.g. with grpcurl; reflection is on).\n\n\
        Without DATABASE_URL it runs its own PostgreSQL from the machine's PostgreSQL binaries, \
        with its data in <data dir>/pg."
)]
pub struct Cli {
    // A heading of their own, so that in a command's help they stand apart from its flags.
    #[command(flatten, next_help_heading = "Global options")]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// PostgreSQL to use, e.g. postgres://user:pass@host/db. Unset: an embedded PostgreSQL
    /// started from the machine's binaries, with its data in <data dir>/pg.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL URL of the role that owns Oblique's tables: migrations run as it, and it
    /// grants DATABASE_URL's role what serving needs (but only INSERT and SELECT on the audit
    /// log). Unset: migrations run over DATABASE_URL. Ignored for the embedded PostgreSQL,
    /// which sets up both roles itself.
    #[arg(
        long,
        env = "OBLIQUE_MIGRATION_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub migration_database_url: Option<String>,
    /// Where Oblique keeps its own files: the embedded database, the credentials key file
    /// (unless OBLIQUE_SECRET_KEY is set) and the first admin token.
    #[arg(
        long,
        env = "OBLIQUE_DATA_DIR",
        default_value = ".oblique",
        global = true
    )]
    pub data_dir: PathBuf,
    /// The credentials key file (default: <data dir>/secret-key), read unless OBLIQUE_SECRET_KEY
    /// is set. One key per line, the first seals. Replicas on several machines can share one
    /// copy (e.g. a mounted secret): `oblique keys rotate` rewrites it and they pick it up.
    #[arg(long, env = "OBLIQUE_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,
    /// Log as human-readable text or one JSON object per line (on stderr).
    #[arg(
        long,
        value_enum,
        env = "OBLIQUE_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
    #[command(
        flatten,
        next_help_heading = "Client options (commands that call a server)"
    )]
    pub client: client::ClientArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC service (migrates the database first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the keys that encrypt integration credentials.
    #[command(subcommand)]
    Keys(KeysCommand),
    #[command(flatten)]
    Client(client::ClientCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "OBLIQUE_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// PEM certificate chain: serve TLS only (needs --tls-key).
    #[arg(long, env = "OBLIQUE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "OBLIQUE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate: clients must present a certificate it signed (mutual TLS).
    #[arg(long, env = "OBLIQUE_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve plaintext gRPC on a non-loopback --listen address. Without it (or TLS) such an
    /// address is refused: tokens and credentials would cross the network in clear. For a
    /// TLS-terminating proxy in front on a private network.
    #[arg(long)]
    pub allow_insecure_listen: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9090). Plain HTTP and
    /// unauthenticated, like most exporters: it holds counts only, no names or secrets. Off
    /// unless set.
    #[arg(long, env = "OBLIQUE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve the admin console (web pages: sign in with an API token) at http://ADDR/ (e.g.
    /// 127.0.0.1:8080); with --tls-cert, over HTTPS with that certificate. Off unless set. Like
    /// --listen, plain HTTP beyond loopback needs --allow-insecure-listen (a TLS-terminating
    /// proxy in front; the session cookie is then marked Secure).
    #[arg(long, env = "OBLIQUE_CONSOLE_LISTEN")]
    pub console_listen: Option<SocketAddr>,
    /// Check the flags, the TLS files, the database and the credentials key as serving would,
    /// print what was found, and exit (non-zero on the first problem) without serving or
    /// changing anything.
    #[arg(long)]
    pub check_config: bool,
    /// Database connections this process may hold.
    #[arg(long, env = "OBLIQUE_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
    /// Seconds any one statement of a request may take before the database cancels it (the
    /// call answers UNAVAILABLE); sync runs have their own, far longer bound.
    #[arg(long, env = "OBLIQUE_DB_STATEMENT_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_statement_timeout: u64,
    /// Seconds a request's statement may wait for a lock held by another transaction.
    #[arg(long, env = "OBLIQUE_DB_LOCK_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub db_lock_timeout: u64,
    /// Sync runs this process executes at once (0: serve the API only, run no syncs).
    #[arg(long, env = "OBLIQUE_SYNC_WORKERS", default_value_t = 2)]
    pub sync_workers: usize,
    /// Seconds a claimed sync run stays this process's without a heartbeat (one a second):
    /// when the process dies, its run is failed and queued again this long after its last
    /// heartbeat. Shorter recovers sooner; too short loses runs to a stalled process.
    #[arg(long, env = "OBLIQUE_SYNC_LEASE", default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..))]
    pub sync_lease: u64,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (and only it) on stdout. It cannot be shown again. Once a
    /// second admin token exists, the first admin token's file (<data dir>/admin-token) is
    /// deleted.
    Create {
        /// A unique name; it is the actor in the audit log.
        #[arg(long)]
        name: String,
        /// admin: everything; service: read, trigger syncs, grant and revoke; viewer: read.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List tokens: names, roles, when created and last used (never the tokens).
    List,
    /// Revoke the token with this name; calls with it fail at once.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt every integration's credentials with a new key, while replicas keep running.
    /// With a key file: makes the new key and writes it in front of the old ones. With
    /// OBLIQUE_SECRET_KEY: takes the new key from OBLIQUE_NEW_SECRET_KEY or --new-key-file and
    /// prints what to set on every replica.
    Rotate {
        /// A file holding the new key (64 hex digits or base64 of 32 bytes).
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
    /// Show the database's key id, this machine's key ids, and how many credentials each
    /// key sealed (never a key).
    Status,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "must be admin, service or viewer".to_string())
}
