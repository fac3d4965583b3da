//! `oblique runs list|get|watch|cancel|changes`.

use std::process::ExitCode;

use clap::Subcommand;

use super::connection::Calls;
use super::failure::Answer;
use super::integration_view::run_state_word;
use super::output::{OutputFormat, Table, enum_word, or_dash, print_json, time};
use super::resolve;
use super::run_changes;
use super::watch::{follow, show_run};
use crate::pb;

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Recent runs, newest first: of one integration, or of all.
    List {
        /// The integration's id or name; all integrations when left out.
        integration: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One run: its state, changes and error.
    Get { run_id: String },
    /// Follow a run to its end (a progress bar on a terminal, one line per event otherwise).
    /// Exits 0 when it succeeded, 3 when it failed or was cancelled.
    Watch { run_id: String },
    /// Cancel a queued or running run (admin).
    Cancel { run_id: String },
    /// What a dry run found, change by change: access added, removed or changed between direct
    /// and inherited; accounts and resources created, updated or deleted.
    Changes {
        run_id: String,
        /// At most this many changes; 0 for all of them.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
}

/// Runs asked for per page.
const PAGE_SIZE: usize = 100;

pub async fn run(
    calls: &Calls,
    format: OutputFormat,
    command: RunsCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        RunsCommand::List { integration, limit } => {
            let integration_id = match integration {
                Some(reference) => resolve::integration(calls, &reference).await?.id,
                None => String::new(),
            };
            let runs = list(calls, integration_id, limit).await?;
            match format {
                OutputFormat::Json => print_json(&pb::ListSyncRunsResponse {
                    runs,
                    next_page_token: String::new(),
                })?,
                OutputFormat::Table => runs_table(&runs).print()?,
            }
        }
        RunsCommand::Get { run_id } => show_run(&get(calls, &run_id).await?, format)?,
        RunsCommand::Watch { run_id } => {
            let run = get(calls, &run_id).await?;
            return follow(calls, format, &run).await;
        }
        RunsCommand::Cancel { run_id } => {
            let run = calls
                .sync
                .clone()
                .cancel_sync_run(pb::CancelSyncRunRequest { id: run_id.clone() })
                .await
                .answer(&format!("cancelling run {run_id}"))?;
            show_run(&run, format)?;
        }
        RunsCommand::Changes { run_id, limit } => {
            run_changes::show(calls, format, &run_id, limit).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn get(calls: &Calls, run_id: &str) -> anyhow::Result<pb::SyncRun> {
    calls
        .sync
        .clone()
        .get_sync_run(pb::GetSyncRunRequest {
            id: run_id.to_string(),
        })
        .await
        .answer(&format!("getting run {run_id}"))
}

async fn list(
    calls: &Calls,
    integration_id: String,
    limit: usize,
) -> anyhow::Result<Vec<pb::SyncRun>> {
    let mut runs = Vec::new();
    let mut page_token = String::new();
    while runs.len() < limit {
        let page = calls
            .sync
            .clone()
            .list_sync_runs(pb::ListSyncRunsRequest {
                integration_id: integration_id.clone(),
                page_size: i32::try_from(PAGE_SIZE.min(limit - runs.len())).unwrap_or(1),
                page_token,
            })
            .await
            .answer("listing sync runs")?;
        runs.extend(page.runs);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    runs.truncate(limit);
    Ok(runs)
}

fn runs_table(runs: &[pb::SyncRun]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "INTEGRATION",
        "TRIGGER",
        "STATE",
        "DRY RUN",
        "CREATED",
        "FINISHED",
        "CHANGES",
        "ERROR",
    ]);
    for run in runs {
        table.row(vec![
            run.id.clone(),
            run.integration_id.clone(),
            enum_word(run.trigger().as_str_name(), "SYNC_TRIGGER_"),
            run_state_word(run),
            if run.dry_run { "yes" } else { "no" }.into(),
            time(run.created_at.as_ref()),
            time(run.finished_at.as_ref()),
            changes(run),
            or_dash(&run.error),
        ]);
    }
    table
}

/// `+created ~updated -deleted` over accounts, resources and access, and the errors.
fn changes(run: &pb::SyncRun) -> String {
    let Some(stats) = &run.stats else {
        return "-".into();
    };
    let (mut created, mut updated, mut deleted) = (0, 0, 0);
    for counts in [&stats.accounts, &stats.resources, &stats.access]
        .into_iter()
        .flatten()
    {
        created += counts.created;
        updated += counts.updated;
        deleted += counts.deleted;
    }
    let mut text = format!("+{created} ~{updated} -{deleted}");
    if stats.errors > 0 {
        text.push_str(&format!(" ({} errors)", stats.errors));
    }
    text
}
