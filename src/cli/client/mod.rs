//! The client commands of `oblique` (`integrations`, `types`, `sync`, `runs`, `access`,
//! `audit`): each one call or a few to a running server over gRPC, with the token of
//! `OBLIQUE_TOKEN` or of the data dir's admin-token file, answered as a table for a person or
//! as JSON for a script. They use only the generated `pb` types: what a client outside this
//! repository could do, nothing more.

pub mod access;
pub mod audit;
pub mod connection;
pub mod failure;
pub mod integration_edit;
pub mod integration_view;
pub mod integrations;
pub mod output;
pub mod progress;
pub mod resolve;
pub mod run_changes;
pub mod runs;
pub mod setup_input;
pub mod sync;
pub mod token;
pub mod types;
pub mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use self::connection::Calls;
use self::failure::report;
use self::output::OutputFormat;

/// The server used when neither --server nor OBLIQUE_SERVER says: `oblique serve`'s default.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// Flags of every client command. Global, so they may come before or after the command; the
/// token has no flag on purpose: a command line is seen by every user of the machine (`ps`) and
/// kept in shell histories.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The server to call: http://HOST:PORT, or https://HOST:PORT for TLS verified against the
    /// system's roots (or --ca-cert). The token comes from OBLIQUE_TOKEN, else from
    /// <data dir>/admin-token as `oblique serve` writes it.
    #[arg(long, env = "OBLIQUE_SERVER", default_value = DEFAULT_SERVER, global = true)]
    pub server: String,
    /// PEM CA certificate to verify an https:// server with, instead of the system's roots.
    #[arg(long, env = "OBLIQUE_CA_CERT", value_name = "FILE", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// `table` for people, `json` for scripts (the API's messages in the proto3 JSON mapping,
    /// with the proto field names; `--watch` prints one event per line).
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub output: OutputFormat,
}

/// The client commands, flattened into `oblique`'s own.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List, show, create, change and delete integrations (calls a server).
    #[command(subcommand)]
    Integrations(integrations::IntegrationsCommand),
    /// The kinds of system Oblique integrates with, and the setup fields of one (calls a server).
    Types(types::TypesArgs),
    /// Start a sync of an integration now, and optionally follow it to its end (calls a server).
    Sync(sync::SyncArgs),
    /// List, follow and cancel sync runs (calls a server).
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Who has access to a resource or what a user has access to; grant and revoke (calls a
    /// server).
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// The audit log, newest first (admin; calls a server).
    Audit(audit::AuditArgs),
}

/// Runs a client command. Exit status: 0 on success; 1 when anything failed (the reason, the
/// server's status code and message, and the request id on stderr); 3 when a watched run ended
/// FAILED or CANCELLED.
pub async fn run(
    client: &ClientArgs,
    data_dir: &std::path::Path,
    command: ClientCommand,
) -> ExitCode {
    let request_id = uuid::Uuid::new_v4().to_string();
    let outcome = async {
        let calls = Calls::connect(client, data_dir, &request_id).await?;
        let format = client.output;
        match command {
            ClientCommand::Integrations(command) => {
                integrations::run(&calls, format, command).await
            }
            ClientCommand::Types(args) => types::run(&calls, format, args).await,
            ClientCommand::Sync(args) => sync::run(&calls, format, args).await,
            ClientCommand::Runs(command) => runs::run(&calls, format, command).await,
            ClientCommand::Access(command) => access::run(&calls, format, command).await,
            ClientCommand::Audit(args) => audit::run(&calls, format, args).await,
        }
    }
    .await;
    match outcome {
        Ok(code) => code,
        Err(error) => report(&error, &request_id),
    }
}
