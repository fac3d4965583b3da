//! One integration as the commands print it (get, create, update), and the words for its
//! status and its last run's state.

use super::output::{
    Details, OutputFormat, enum_word, one_line, or_dash, print_json, time, yes_no,
};
use crate::pb;

pub fn status_word(integration: &pb::Integration) -> String {
    enum_word(integration.status().as_str_name(), "INTEGRATION_STATUS_")
}

pub fn run_state_word(run: &pb::SyncRun) -> String {
    enum_word(run.state().as_str_name(), "SYNC_RUN_STATE_")
}

/// One integration in detail, or as JSON.
pub fn show(integration: &pb::Integration, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_json(integration);
    }
    let mut details = Details::new();
    details.add("id", &integration.id);
    details.add("name", &integration.name);
    details.add("type", &integration.r#type);
    details.add("status", status_word(integration));
    let mut config: Vec<_> = integration.config.iter().collect();
    config.sort();
    for (key, value) in config {
        details.add(format!("config.{key}"), one_line(value));
    }
    details.add("credentials set", yes_no(integration.credentials_set));
    details.add("link users by", or_dash(&integration.link_users_by));
    details.add(
        "create resources for new teams",
        yes_no(integration.create_resources_for_new_teams),
    );
    details.add(
        "sync interval",
        format!("{}s", integration.sync_interval_seconds),
    );
    details.add(
        "max deletion percent",
        integration.max_deletion_percent.to_string(),
    );
    details.add("resources", integration.resource_count.to_string());
    details.add("accounts", integration.account_count.to_string());
    details.add("created", time(integration.created_at.as_ref()));
    details.add("updated", time(integration.updated_at.as_ref()));
    if integration.deleted_at.is_some() {
        details.add("deleted", time(integration.deleted_at.as_ref()));
    }
    if let Some(run) = &integration.last_sync_run {
        details.add(
            "last sync",
            match &run.finished_at {
                Some(at) => format!("{} {} ({})", run.id, run_state_word(run), time(Some(at))),
                None => format!("{} {}", run.id, run_state_word(run)),
            },
        );
    }
    for warning in &integration.warnings {
        details.add("warning", warning);
    }
    details.print()
}
