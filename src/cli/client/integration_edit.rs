//! `oblique integrations create` and `update`: the setup from `--set` and `--config-file`, the
//! secrets from `--credentials-file` or the prompt (see `setup_input`), and for an update the
//! `update_mask` of exactly the fields the flags name.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::connection::Calls;
use super::failure::Answer;
use super::integration_view::show;
use super::output::OutputFormat;
use super::setup_input::{
    integration_type, parse_sets, prompt_credentials, read_json_map, refuse_plain_in_credentials,
    refuse_secrets_in_config,
};
use super::{resolve, watch};
use crate::pb;

/// Plain setup values; the same on create and update.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// A setup value, KEY=VALUE (repeatable; `oblique types TYPE` lists the keys). Secrets are
    /// refused here: they belong in --credentials-file or at the prompt.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// A JSON object of setup values, e.g. {"host": "db.example.org", "port": "5432"}; --set
    /// values win over it.
    #[arg(long, value_name = "FILE.json")]
    pub config_file: Option<PathBuf>,
    /// A JSON object of the type's secret fields, e.g. {"password": "…"}: the only way, with
    /// the prompt, to give a secret.
    #[arg(long, value_name = "FILE.json")]
    pub credentials_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The integration type (`oblique types` lists them).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: String,
    /// A name unique among the active integrations.
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Create a resource in this system for every new Oblique team.
    #[arg(long)]
    pub create_resources_for_new_teams: bool,
    /// Seconds between scheduled syncs (default 3600).
    #[arg(long, value_name = "SECONDS")]
    pub sync_interval: Option<i32>,
    /// Mass-deletion guard: a sync that would soft delete more than this share stops (default
    /// 20; 0 asks for every soft delete).
    #[arg(long, value_name = "PERCENT")]
    pub max_deletion_percent: Option<i32>,
    /// What links accounts to Oblique users: email, username or none (default: the type's).
    #[arg(long, value_name = "HOW")]
    pub link_users_by: Option<String>,
    /// Follow the first sync to its end (see `oblique sync --watch`).
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The integration's id or name.
    pub integration: String,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// --set changes single setup values of the current setup; --config-file replaces the
    /// whole setup; --credentials-file replaces the credentials.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Remove a setup value (its default applies again); repeatable.
    #[arg(long, value_name = "KEY")]
    pub unset: Vec<String>,
    /// Ask for new credentials at the prompt, one secret field of the type after another.
    #[arg(long, conflicts_with = "credentials_file")]
    pub new_credentials: bool,
    #[arg(long, value_name = "BOOL")]
    pub create_resources_for_new_teams: Option<bool>,
    /// Seconds between scheduled syncs.
    #[arg(long, value_name = "SECONDS")]
    pub sync_interval: Option<i32>,
    /// Mass-deletion guard, in percent.
    #[arg(long, value_name = "PERCENT")]
    pub max_deletion_percent: Option<i32>,
    /// email, username or none.
    #[arg(long, value_name = "HOW")]
    pub link_users_by: Option<String>,
}

pub async fn create(
    calls: &Calls,
    format: OutputFormat,
    args: CreateArgs,
) -> anyhow::Result<ExitCode> {
    let kind = integration_type(calls, &args.kind).await?;
    let config = config_of(&kind, &args.setup, HashMap::new())?;
    let credentials = match &args.setup.credentials_file {
        Some(path) => read_credentials(&kind, path)?,
        // No file and no terminal: sent without, and the server names what is missing.
        None => prompt_credentials(&kind)?.unwrap_or_default(),
    };
    let created = calls
        .integrations
        .clone()
        .create_integration(pb::CreateIntegrationRequest {
            r#type: args.kind,
            name: args.name.clone(),
            config,
            credentials,
            create_resources_for_new_teams: args.create_resources_for_new_teams,
            sync_interval_seconds: args.sync_interval.unwrap_or(0),
            // A retry of this command is a new create; within it, the id keeps one.
            request_id: uuid::Uuid::new_v4().to_string(),
            max_deletion_percent: args.max_deletion_percent,
            link_users_by: args.link_users_by.unwrap_or_default(),
        })
        .await
        .answer(&format!("creating integration {}", args.name))?;
    if !args.watch {
        show(&created, format)?;
        return Ok(ExitCode::SUCCESS);
    }
    if format == OutputFormat::Table {
        show(&created, format)?;
    }
    match &created.last_sync_run {
        Some(run) => watch::follow(calls, format, run).await,
        None => bail!("the server queued no first sync to watch"),
    }
}

pub async fn update(calls: &Calls, format: OutputFormat, args: UpdateArgs) -> anyhow::Result<()> {
    let current = resolve::integration(calls, &args.integration).await?;
    let kind = integration_type(calls, &current.r#type).await?;
    let mut integration = pb::Integration {
        id: current.id.clone(),
        ..Default::default()
    };
    let mut paths = Vec::new();
    if let Some(name) = args.name {
        integration.name = name;
        paths.push("name");
    }
    let setup = &args.setup;
    if !setup.set.is_empty() || setup.config_file.is_some() || !args.unset.is_empty() {
        let mut config = config_of(&kind, setup, current.config.clone())?;
        for key in &args.unset {
            config.remove(key);
        }
        integration.config = config;
        paths.push("config");
    }
    if let Some(path) = &setup.credentials_file {
        integration.credentials = read_credentials(&kind, path)?;
        paths.push("credentials");
    } else if args.new_credentials {
        let Some(credentials) = prompt_credentials(&kind)? else {
            bail!(
                "--new-credentials asks on a terminal, and there is none: use --credentials-file"
            );
        };
        integration.credentials = credentials;
        paths.push("credentials");
    }
    if let Some(value) = args.create_resources_for_new_teams {
        integration.create_resources_for_new_teams = value;
        paths.push("create_resources_for_new_teams");
    }
    if let Some(seconds) = args.sync_interval {
        integration.sync_interval_seconds = seconds;
        paths.push("sync_interval_seconds");
    }
    if let Some(percent) = args.max_deletion_percent {
        integration.max_deletion_percent = percent;
        paths.push("max_deletion_percent");
    }
    if let Some(how) = args.link_users_by {
        integration.link_users_by = how;
        paths.push("link_users_by");
    }
    if paths.is_empty() {
        bail!(
            "nothing to change: give --name, --set, --unset, --config-file, --credentials-file, --new-credentials or a sync setting"
        );
    }
    let updated = calls
        .integrations
        .clone()
        .update_integration(pb::UpdateIntegrationRequest {
            integration: Some(integration),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.into_iter().map(String::from).collect(),
            }),
        })
        .await
        .answer(&format!("updating integration {}", current.name))?;
    show(&updated, format)
}

/// `base`, then the config file (which replaces it), then each `--set`; no secret among them.
fn config_of(
    kind: &pb::IntegrationType,
    setup: &SetupArgs,
    base: HashMap<String, String>,
) -> anyhow::Result<HashMap<String, String>> {
    let mut config = base;
    if let Some(path) = &setup.config_file {
        config = read_json_map(path, "--config-file")?;
        refuse_secrets_in_config(kind, config.keys(), "--config-file")?;
    }
    let sets = parse_sets(&setup.set)?;
    refuse_secrets_in_config(kind, sets.iter().map(|(key, _)| key), "--set")?;
    config.extend(sets);
    Ok(config)
}

fn read_credentials(
    kind: &pb::IntegrationType,
    path: &std::path::Path,
) -> anyhow::Result<HashMap<String, String>> {
    let credentials = read_json_map(path, "--credentials-file")?;
    refuse_plain_in_credentials(kind, &credentials)?;
    Ok(credentials)
}
