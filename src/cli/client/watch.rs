//! `--watch`: a run followed through WatchSyncRun to its end. On a terminal, a progress bar
//! (phase, objects listed, rate, ETA when the previous run's totals are known); otherwise one
//! plain line per event; with `--output json`, one event per line as JSON. The exit status says
//! how the run ended: 0 SUCCEEDED, 3 FAILED or CANCELLED.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::connection::Calls;
use super::failure::{Answer, RUN_UNSUCCESSFUL, failed};
use super::output::{OutputFormat, datetime, print_json, print_json_line, time};
use super::progress::{Expected, Tracker, phase_word, state_word};
use crate::pb::{self, SyncEventKind, SyncRunState};

/// Runs of the integration looked through for the previous one's totals.
const PREVIOUS_RUNS_LOOKED_AT: i32 = 10;

/// Follows `run` to its end and says how it ended.
pub async fn follow(
    calls: &Calls,
    format: OutputFormat,
    run: &pb::SyncRun,
) -> anyhow::Result<ExitCode> {
    let expected = previous_totals(calls, run).await;
    let mut events = calls
        .sync
        .clone()
        .watch_sync_run(pb::WatchSyncRunRequest {
            run_id: run.id.clone(),
        })
        .await
        .answer(&format!("watching run {}", run.id))?;
    let mut view = View::new(format, Tracker::new(expected));
    while let Some(event) = events
        .message()
        .await
        .map_err(|status| failed(&format!("watching run {}", run.id), status))?
    {
        view.show(&event)?;
    }
    view.close();
    // The stream ends after the terminal event; the run as stored has its final stats.
    let finished = calls
        .sync
        .clone()
        .get_sync_run(pb::GetSyncRunRequest { id: run.id.clone() })
        .await
        .answer(&format!("getting run {}", run.id))?;
    match format {
        OutputFormat::Json => {}
        OutputFormat::Table => summary(&finished)?,
    }
    Ok(match finished.state() {
        SyncRunState::Succeeded => ExitCode::SUCCESS,
        SyncRunState::Failed | SyncRunState::Cancelled => ExitCode::from(RUN_UNSUCCESSFUL),
        state => {
            anyhow::bail!(
                "the server ended the watch of run {} while it is {}; `oblique runs watch {}` \
                 follows it again",
                finished.id,
                state_word(state),
                finished.id
            )
        }
    })
}

/// What the last successful run of the same integration listed, or nothing known.
async fn previous_totals(calls: &Calls, run: &pb::SyncRun) -> Expected {
    let runs = calls
        .sync
        .clone()
        .list_sync_runs(pb::ListSyncRunsRequest {
            integration_id: run.integration_id.clone(),
            page_size: PREVIOUS_RUNS_LOOKED_AT,
            page_token: String::new(),
        })
        .await;
    // Only for the ETA: a run is watched as well without it.
    let Ok(runs) = runs else {
        return Expected::default();
    };
    previous_success(&runs.into_inner().runs, &run.id)
        .map(Expected::from_run)
        .unwrap_or_default()
}

/// The newest successful run older than `run_id` among `runs` (newest first); any other
/// successful one when `run_id` is not among them (it is newer than all of them).
fn previous_success<'a>(runs: &'a [pb::SyncRun], run_id: &str) -> Option<&'a pb::SyncRun> {
    let older = match runs.iter().position(|run| run.id == run_id) {
        Some(at) => &runs[at + 1..],
        None => runs,
    };
    older
        .iter()
        .find(|run| run.state() == SyncRunState::Succeeded)
}

enum Output {
    Bar(ProgressBar),
    Lines,
    Json,
}

struct View {
    output: Output,
    tracker: Tracker,
}

impl View {
    fn new(format: OutputFormat, tracker: Tracker) -> View {
        let output = match format {
            OutputFormat::Json => Output::Json,
            OutputFormat::Table if std::io::stdout().is_terminal() => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
                bar.set_style(spinner_style());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message("waiting for the run to start");
                Output::Bar(bar)
            }
            OutputFormat::Table => Output::Lines,
        };
        View { output, tracker }
    }

    fn show(&mut self, event: &pb::SyncEvent) -> anyhow::Result<()> {
        self.tracker.observe(event);
        match &self.output {
            Output::Json => print_json_line(event)?,
            Output::Lines => {
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "{}  {}",
                    time(event.at.as_ref()),
                    self.tracker.describe(event)
                )?;
                out.flush()?;
            }
            Output::Bar(bar) => self.draw(bar, event),
        }
        Ok(())
    }

    fn draw(&self, bar: &ProgressBar, event: &pb::SyncEvent) {
        let phase = phase_word(event.phase());
        match event.kind() {
            SyncEventKind::PhaseStarted => {
                bar.set_prefix(phase);
                bar.set_position(0);
                match self.tracker.expected() {
                    Some(expected) if expected > 0 => {
                        bar.set_style(bar_style());
                        bar.set_length(expected.unsigned_abs());
                    }
                    _ => {
                        bar.set_style(spinner_style());
                        bar.unset_length();
                    }
                }
                bar.set_message("");
            }
            SyncEventKind::Progress => {
                let processed = self.tracker.processed().unsigned_abs();
                // More than the previous run listed: the end is not known after all.
                if bar.length().is_some_and(|length| processed > length) {
                    bar.set_style(spinner_style());
                    bar.unset_length();
                }
                bar.set_position(processed);
                bar.set_message(self.tracker.speed(event.at.as_ref().and_then(datetime)));
            }
            SyncEventKind::StateChanged => {
                bar.set_message(format!("run {}", state_word(event.state())));
            }
            SyncEventKind::Unspecified | SyncEventKind::Finished => {}
            SyncEventKind::Warning => bar.println(self.tracker.describe(event)),
            SyncEventKind::PhaseFinished => {
                // A line that stays above the bar; the bar shows the whole phase until the next.
                bar.println(self.tracker.describe(event));
                let processed = self.tracker.processed().unsigned_abs();
                if bar.length().is_some() {
                    bar.set_length(processed);
                }
                bar.set_position(processed);
                bar.set_message(format!("{phase} done"));
            }
        }
    }

    fn close(self) {
        if let Output::Bar(bar) = self.output {
            bar.finish_and_clear();
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:>9} {pos} listed  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:>9} [{bar:30}] {pos}/~{len}  {msg}")
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// How the run ended, with its changes.
fn summary(run: &pb::SyncRun) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let dry = if run.dry_run {
        " (dry run: nothing applied)"
    } else {
        ""
    };
    writeln!(out, "Run {} {}{dry}.", run.id, state_word(run.state()))?;
    if let Some(stats) = &run.stats {
        let counts = |name: &str, counts: Option<&pb::ChangeCounts>| {
            let c = counts.copied().unwrap_or_default();
            format!(
                "{name}: {} created, {} updated, {} deleted, {} unchanged",
                c.created, c.updated, c.deleted, c.unchanged
            )
        };
        writeln!(out, "  {}", counts("accounts", stats.accounts.as_ref()))?;
        writeln!(out, "  {}", counts("resources", stats.resources.as_ref()))?;
        writeln!(out, "  {}", counts("access", stats.access.as_ref()))?;
        if stats.push.is_some() {
            writeln!(out, "  {}", counts("pushed", stats.push.as_ref()))?;
        }
        writeln!(out, "  errors: {}", stats.errors)?;
    }
    if !run.error.is_empty() {
        writeln!(out, "  error: {}", run.error)?;
    }
    Ok(())
}

/// Prints a run (for `sync` without --watch, and `runs get`).
pub fn show_run(run: &pb::SyncRun, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => print_json(run),
        OutputFormat::Table => summary(run),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, state: SyncRunState) -> pb::SyncRun {
        pb::SyncRun {
            id: id.into(),
            state: state as i32,
            ..Default::default()
        }
    }

    #[test]
    fn the_previous_run_is_the_newest_successful_one_before_the_watched_one() {
        use SyncRunState::{Failed, Running, Succeeded};
        let runs = [
            run("5", Succeeded),
            run("4", Running),
            run("3", Failed),
            run("2", Succeeded),
            run("1", Succeeded),
        ];
        assert_eq!(
            previous_success(&runs, "4").map(|r| r.id.as_str()),
            Some("2")
        );
        assert_eq!(
            previous_success(&runs, "6").map(|r| r.id.as_str()),
            Some("5")
        );
        assert_eq!(previous_success(&runs, "1"), None);
    }
}
