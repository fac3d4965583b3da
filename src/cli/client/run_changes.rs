//! `oblique runs changes RUN`: the whole difference a dry run found, change by change, and the
//! first of them after `oblique sync --dry-run --watch`.

use std::io::Write;

use super::connection::Calls;
use super::failure::Answer;
use super::output::{OutputFormat, Table, enum_word, or_dash, print_json};
use crate::pb;

/// Changes asked for per page.
const PAGE_SIZE: usize = 1000;
/// Changes `sync --dry-run --watch` shows at the end; `runs changes` shows them all.
const FIRST_CHANGES: usize = 20;

/// Prints up to `limit` of the dry run's changes (all of them with 0), and says so when more
/// were left out.
pub async fn show(
    calls: &Calls,
    format: OutputFormat,
    run_id: &str,
    limit: usize,
) -> anyhow::Result<()> {
    let limit = if limit == 0 { usize::MAX } else { limit };
    let (changes, more) = list(calls, run_id, limit).await?;
    match format {
        OutputFormat::Json => print_json(&pb::ListSyncRunChangesResponse {
            changes,
            next_page_token: String::new(),
        })?,
        OutputFormat::Table => {
            changes_table(&changes).print()?;
            if more {
                let shown = changes.len();
                writeln!(
                    std::io::stdout(),
                    "(the first {shown} changes; --limit 0 lists them all)"
                )?;
            }
        }
    }
    Ok(())
}

/// After a dry run watched to its end: its first changes, and where to see the rest.
pub async fn show_first(calls: &Calls, run_id: &str) -> anyhow::Result<()> {
    let (changes, more) = list(calls, run_id, FIRST_CHANGES).await?;
    let mut out = std::io::stdout().lock();
    if changes.is_empty() {
        writeln!(out, "No changes.")?;
        return Ok(());
    }
    writeln!(out)?;
    out.write_all(changes_table(&changes).render().as_bytes())?;
    if more {
        writeln!(
            out,
            "(the first {}; `oblique runs changes {run_id}` lists them all)",
            changes.len()
        )?;
    }
    Ok(())
}

/// Up to `limit` changes, and whether more follow.
async fn list(
    calls: &Calls,
    run_id: &str,
    limit: usize,
) -> anyhow::Result<(Vec<pb::SyncRunChange>, bool)> {
    let mut changes = Vec::new();
    let mut page_token = String::new();
    loop {
        // One more than the limit, to learn whether more follow.
        let wanted = PAGE_SIZE.min(limit.saturating_sub(changes.len()).saturating_add(1));
        let page = calls
            .sync
            .clone()
            .list_sync_run_changes(pb::ListSyncRunChangesRequest {
                run_id: run_id.to_string(),
                page_size: i32::try_from(wanted).unwrap_or(1),
                page_token,
            })
            .await
            .answer(&format!("listing the changes of run {run_id}"))?;
        changes.extend(page.changes);
        if changes.len() > limit {
            changes.truncate(limit);
            return Ok((changes, true));
        }
        if page.next_page_token.is_empty() {
            return Ok((changes, false));
        }
        page_token = page.next_page_token;
    }
}

fn changes_table(changes: &[pb::SyncRunChange]) -> Table {
    let mut table = Table::new(&["CHANGE", "RESOURCE", "ACCOUNT", "DISPLAY NAME", "NOTE"]);
    for change in changes {
        table.row(vec![
            enum_word(change.kind().as_str_name(), "SYNC_RUN_CHANGE_KIND_"),
            or_dash(&change.resource_name),
            or_dash(&change.account_username),
            or_dash(&change.account_display_name),
            note(change),
        ]);
    }
    table
}

/// Whether the objects are new and how access is held.
fn note(change: &pb::SyncRunChange) -> String {
    use pb::SyncRunChangeKind::{AccessAdded, AccessRemoved, AccessUpdated};
    let mut notes = Vec::new();
    match change.kind() {
        AccessAdded | AccessRemoved if change.inherited => notes.push("inherited"),
        AccessUpdated if change.inherited => notes.push("now inherited only"),
        AccessUpdated => notes.push("now direct"),
        _ => {}
    }
    let is_access = matches!(change.kind(), AccessAdded | AccessRemoved | AccessUpdated);
    if is_access && !change.resource_name.is_empty() && change.resource_id.is_empty() {
        notes.push("new resource");
    }
    if is_access && !change.account_username.is_empty() && change.account_id.is_empty() {
        notes.push("new account");
    }
    or_dash(&notes.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_say_how_access_is_held_and_what_is_new() {
        let change = |kind: pb::SyncRunChangeKind, inherited: bool, ids: bool| pb::SyncRunChange {
            kind: kind as i32,
            inherited,
            resource_name: "readers".into(),
            account_username: "alice".into(),
            resource_id: if ids { "r".into() } else { String::new() },
            account_id: if ids { "a".into() } else { String::new() },
            ..Default::default()
        };
        use pb::SyncRunChangeKind::*;
        assert_eq!(note(&change(AccessAdded, false, true)), "-");
        assert_eq!(
            note(&change(AccessAdded, true, false)),
            "inherited, new resource, new account"
        );
        assert_eq!(note(&change(AccessUpdated, false, true)), "now direct");
        assert_eq!(note(&change(AccountCreated, false, false)), "-");
    }
}
