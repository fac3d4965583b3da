//! `oblique access list|grant|revoke`: effective access of a resource or a user, and grants
//! made in Oblique (pushed to the user's account in the resource's system).

use std::process::ExitCode;

use clap::{ArgGroup, Subcommand};

use super::connection::Calls;
use super::failure::Answer;
use super::output::{
    Details, OutputFormat, Table, enum_word, or_dash, parse_time, print_json, time,
};
use crate::pb;

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Who has access to a resource, or what a user has access to; with --at, as it was then.
    #[command(group(ArgGroup::new("whose").required(true).args(["resource", "user"])))]
    List {
        /// A resource id.
        #[arg(long)]
        resource: Option<String>,
        /// A user id.
        #[arg(long)]
        user: Option<String>,
        /// A past time (RFC 3339, e.g. 2025-01-31T12:00:00Z).
        #[arg(long, value_parser = parse_time)]
        at: Option<prost_types::Timestamp>,
    },
    /// Grant a user access to a push-mode resource; pushed to the user's account there.
    Grant {
        /// The resource id.
        #[arg(long)]
        resource: String,
        /// The user id.
        #[arg(long)]
        user: String,
        /// Why, for the audit log.
        #[arg(long, default_value = "")]
        reason: String,
        /// When the grant ends by itself (RFC 3339).
        #[arg(long, value_parser = parse_time)]
        expires_at: Option<prost_types::Timestamp>,
    },
    /// Revoke a grant; the removal is pushed to the system.
    Revoke {
        /// The grant's id (`access list` shows it).
        grant_id: String,
        /// Why, for the audit log.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// Entries asked for per page.
const PAGE_SIZE: i32 = 500;

pub async fn run(
    calls: &Calls,
    format: OutputFormat,
    command: AccessCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        AccessCommand::List { resource, user, at } => {
            let entries = list(
                calls,
                resource.unwrap_or_default(),
                user.unwrap_or_default(),
                at,
            )
            .await?;
            match format {
                OutputFormat::Json => print_json(&pb::ListAccessResponse {
                    entries,
                    next_page_token: String::new(),
                })?,
                OutputFormat::Table => entries_table(&entries).print()?,
            }
        }
        AccessCommand::Grant {
            resource,
            user,
            reason,
            expires_at,
        } => {
            let grant = calls
                .access
                .clone()
                .grant_access(pb::GrantAccessRequest {
                    resource_id: resource.clone(),
                    user_id: user.clone(),
                    reason,
                    expires_at,
                })
                .await
                .answer(&format!(
                    "granting user {user} access to resource {resource}"
                ))?;
            show_grant(&grant, format)?;
        }
        AccessCommand::Revoke { grant_id, reason } => {
            let grant = calls
                .access
                .clone()
                .revoke_access(pb::RevokeAccessRequest {
                    grant_id: grant_id.clone(),
                    reason,
                })
                .await
                .answer(&format!("revoking grant {grant_id}"))?;
            show_grant(&grant, format)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(
    calls: &Calls,
    resource_id: String,
    user_id: String,
    at: Option<prost_types::Timestamp>,
) -> anyhow::Result<Vec<pb::AccessEntry>> {
    let mut entries = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = calls
            .access
            .clone()
            .list_access(pb::ListAccessRequest {
                resource_id: resource_id.clone(),
                user_id: user_id.clone(),
                at,
                page_size: PAGE_SIZE,
                page_token,
            })
            .await
            .answer("listing access")?;
        entries.extend(page.entries);
        if page.next_page_token.is_empty() {
            return Ok(entries);
        }
        page_token = page.next_page_token;
    }
}

fn entries_table(entries: &[pb::AccessEntry]) -> Table {
    let mut table = Table::new(&[
        "RESOURCE",
        "USER",
        "ACCOUNT",
        "SOURCE",
        "PROPAGATION",
        "GRANT",
        "SINCE",
        "PROPAGATION ERROR",
    ]);
    for entry in entries {
        table.row(vec![
            entry.resource_id.clone(),
            or_dash(&entry.user_id),
            or_dash(&entry.account_id),
            enum_word(entry.source().as_str_name(), "ACCESS_SOURCE_"),
            enum_word(
                entry.propagation_status().as_str_name(),
                "PROPAGATION_STATUS_",
            ),
            or_dash(&entry.grant_id),
            time(entry.since.as_ref()),
            or_dash(&entry.propagation_error),
        ]);
    }
    table
}

fn show_grant(grant: &pb::Grant, format: OutputFormat) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_json(grant);
    }
    let mut details = Details::new();
    details.add("grant", &grant.id);
    details.add("resource", &grant.resource_id);
    details.add("user", &grant.user_id);
    details.add("reason", or_dash(&grant.reason));
    details.add(
        "granted",
        format!(
            "{} by {}",
            time(grant.granted_at.as_ref()),
            grant.granted_by
        ),
    );
    details.add("expires", time(grant.expires_at.as_ref()));
    if grant.revoked_at.is_some() {
        details.add(
            "revoked",
            format!(
                "{} by {} ({})",
                time(grant.revoked_at.as_ref()),
                grant.revoked_by,
                or_dash(&grant.revoke_reason)
            ),
        );
    }
    details.add(
        "propagation",
        enum_word(
            grant.propagation_status().as_str_name(),
            "PROPAGATION_STATUS_",
        ),
    );
    if !grant.propagation_error.is_empty() {
        details.add("propagation error", &grant.propagation_error);
    }
    details.print()
}
