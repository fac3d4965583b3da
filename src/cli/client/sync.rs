//! `oblique sync INTEGRATION [--dry-run] [--watch]`: queues a run now (or answers the one
//! already queued or running) and, with --watch, follows it to its end. A dry run ends with
//! its first changes (watched) or with where to see them.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::connection::Calls;
use super::failure::Answer;
use super::output::OutputFormat;
use super::resolve;
use super::run_changes;
use super::watch::{follow, show_run};
use crate::pb;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The integration's id or name.
    pub integration: String,
    /// Work out and report the difference; apply nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Let this run soft delete more than the integration's max_deletion_percent.
    #[arg(long)]
    pub allow_mass_deletion: bool,
    /// Follow the run to its end: a progress bar on a terminal, one line per event otherwise.
    /// Exits 0 when it succeeded, 3 when it failed or was cancelled.
    #[arg(long, short = 'w')]
    pub watch: bool,
}

pub async fn run(calls: &Calls, format: OutputFormat, args: SyncArgs) -> anyhow::Result<ExitCode> {
    let integration = resolve::integration(calls, &args.integration).await?;
    let run = calls
        .sync
        .clone()
        .trigger_sync(pb::TriggerSyncRequest {
            integration_id: integration.id.clone(),
            dry_run: args.dry_run,
            allow_mass_deletion: args.allow_mass_deletion,
        })
        .await
        .answer(&format!("starting a sync of {}", integration.name))?;
    if args.watch {
        if format == OutputFormat::Table && run.dry_run != args.dry_run {
            // TriggerSync answers the run already active, which may not be what was asked for.
            eprintln!(
                "note: a run of {} was already active; watching it",
                integration.name
            );
        }
        let ended = follow(calls, format, &run).await?;
        if run.dry_run && format == OutputFormat::Table && ended == ExitCode::SUCCESS {
            run_changes::show_first(calls, &run.id).await?;
        }
        return Ok(ended);
    }
    show_run(&run, format)?;
    if run.dry_run && format == OutputFormat::Table {
        writeln!(
            std::io::stdout(),
            "Once it has succeeded, `oblique runs changes {}` lists what it found.",
            run.id
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
