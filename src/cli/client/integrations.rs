//! `oblique integrations list|get|create|update|delete`. Create and update, which take a
//! setup and secrets, are in `integration_edit`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use super::connection::Calls;
use super::failure::Answer;
use super::integration_edit::{self, CreateArgs, UpdateArgs};
use super::integration_view::{run_state_word, show, status_word};
use super::output::{OutputFormat, Table, print_json, time};
use super::resolve;
use crate::pb;

#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// List integrations: id, name, type, status, counts and the last sync.
    List {
        /// Include soft-deleted integrations.
        #[arg(long)]
        include_deleted: bool,
    },
    /// Show one integration, named by id or by name.
    Get {
        /// The integration's id or name.
        integration: String,
    },
    /// Create an integration: checks the credentials against the system, saves, and queues the
    /// first sync. Secrets only from --credentials-file or the prompt, never from the command
    /// line.
    Create(CreateArgs),
    /// Change an integration's name, setup, credentials or sync settings.
    Update(UpdateArgs),
    /// Delete an integration: syncing stops, its resources and accounts are soft deleted.
    /// Asks for confirmation unless --yes.
    Delete {
        /// The integration's id or name.
        integration: String,
        /// Do not ask; needed when there is no terminal to ask on.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Delete even while the integration has push-mode resources (Oblique stops managing
        /// their members; nothing is removed in the system).
        #[arg(long)]
        force: bool,
    },
}

pub async fn run(
    calls: &Calls,
    format: OutputFormat,
    command: IntegrationsCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        IntegrationsCommand::List { include_deleted } => {
            let integrations = resolve::all_integrations(calls, include_deleted).await?;
            match format {
                OutputFormat::Json => print_json(&pb::ListIntegrationsResponse {
                    integrations,
                    next_page_token: String::new(),
                })?,
                OutputFormat::Table => list_table(&integrations).print()?,
            }
        }
        IntegrationsCommand::Get { integration } => {
            let integration = resolve::integration(calls, &integration).await?;
            show(&integration, format)?;
        }
        IntegrationsCommand::Create(args) => {
            return integration_edit::create(calls, format, args).await;
        }
        IntegrationsCommand::Update(args) => integration_edit::update(calls, format, args).await?,
        IntegrationsCommand::Delete {
            integration,
            yes,
            force,
        } => delete(calls, format, &integration, yes, force).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn list_table(integrations: &[pb::Integration]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "NAME",
        "TYPE",
        "STATUS",
        "RESOURCES",
        "ACCOUNTS",
        "LAST SYNC",
        "FINISHED",
    ]);
    for integration in integrations {
        let last = integration.last_sync_run.as_ref();
        table.row(vec![
            integration.id.clone(),
            integration.name.clone(),
            integration.r#type.clone(),
            status_word(integration),
            integration.resource_count.to_string(),
            integration.account_count.to_string(),
            last.map_or_else(|| "-".into(), run_state_word),
            time(last.and_then(|run| run.finished_at.as_ref())),
        ]);
    }
    table
}

async fn delete(
    calls: &Calls,
    format: OutputFormat,
    reference: &str,
    yes: bool,
    force: bool,
) -> anyhow::Result<()> {
    let integration = resolve::integration(calls, reference).await?;
    if !yes {
        confirm_delete(&integration)?;
    }
    let deleted = calls
        .integrations
        .clone()
        .delete_integration(pb::DeleteIntegrationRequest {
            id: integration.id.clone(),
            force,
        })
        .await
        .answer(&format!("deleting integration {}", integration.name))?;
    if format == OutputFormat::Json {
        return print_json(&deleted);
    }
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "Deleted integration {} ({}): {} resource(s) and {} account(s) soft deleted",
        integration.name,
        integration.id,
        deleted.resources_soft_deleted,
        deleted.accounts_soft_deleted
    )?;
    if !deleted.cancelled_run_id.is_empty() {
        write!(out, "; run {} cancelled", deleted.cancelled_run_id)?;
    }
    writeln!(out, ".")?;
    Ok(())
}

/// Asks on the terminal; refuses when there is none (a script must say --yes).
fn confirm_delete(integration: &pb::Integration) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "not deleting {} without confirmation: pass --yes (there is no terminal to ask on)",
            integration.name
        );
    }
    eprint!(
        "Delete integration {} ({}, {} resources, {} accounts)? Syncing stops and its resources \
         and accounts are soft deleted. [y/N] ",
        integration.name, integration.id, integration.resource_count, integration.account_count
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
        bail!("not deleted: not confirmed");
    }
    Ok(())
}
