//! `oblique audit`: the audit log, newest first, filtered as ListAuditEvents allows (admin).

use std::process::ExitCode;

use clap::Args;

use super::connection::Calls;
use super::failure::Answer;
use super::output::{OutputFormat, Table, or_dash, parse_time, print_json, time};
use super::resolve;
use crate::pb;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events of this integration (id or name).
    #[arg(long)]
    pub integration: Option<String>,
    /// Only events of this resource (id).
    #[arg(long)]
    pub resource: Option<String>,
    /// Only events by this token name.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this action, e.g. integration.create, access.grant, sync.apply.
    #[arg(long)]
    pub action: Option<String>,
    /// Only events since this time (RFC 3339, e.g. 2025-01-31T00:00:00Z).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<prost_types::Timestamp>,
    /// At most this many events.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// Events asked for per page.
const PAGE_SIZE: usize = 200;

pub async fn run(calls: &Calls, format: OutputFormat, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let integration_id = match &args.integration {
        // An id as it is: a deleted integration's events stay readable by it.
        Some(id) if uuid::Uuid::parse_str(id).is_ok() => id.clone(),
        Some(name) => resolve::integration(calls, name).await?.id,
        None => String::new(),
    };
    let mut events = Vec::new();
    let mut page_token = String::new();
    while events.len() < args.limit {
        let page = calls
            .integrations
            .clone()
            .list_audit_events(pb::ListAuditEventsRequest {
                integration_id: integration_id.clone(),
                resource_id: args.resource.clone().unwrap_or_default(),
                actor: args.actor.clone().unwrap_or_default(),
                since: args.since,
                page_size: i32::try_from(PAGE_SIZE.min(args.limit - events.len())).unwrap_or(1),
                page_token,
                action: args.action.clone().unwrap_or_default(),
            })
            .await
            .answer("listing audit events")?;
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    events.truncate(args.limit);
    match format {
        OutputFormat::Json => print_json(&pb::ListAuditEventsResponse {
            events,
            next_page_token: String::new(),
        })?,
        OutputFormat::Table => {
            let mut table = Table::new(&[
                "AT",
                "ACTOR",
                "ACTION",
                "INTEGRATION",
                "RESOURCE",
                "DETAILS",
            ]);
            for event in &events {
                let actor = event.actor.as_ref().map_or_else(
                    || "-".into(),
                    |actor| format!("{} ({})", actor.name, actor.role),
                );
                table.row(vec![
                    time(event.at.as_ref()),
                    actor,
                    event.action.clone(),
                    or_dash(&event.integration_id),
                    or_dash(&event.resource_id),
                    details(event.details.as_ref()),
                ]);
            }
            table.print()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The details as compact JSON on one line.
fn details(details: Option<&prost_types::Struct>) -> String {
    let Some(details) = details else {
        return "-".into();
    };
    let object: serde_json::Map<String, serde_json::Value> = details
        .fields
        .iter()
        .map(|(key, value)| (key.clone(), json_value(value)))
        .collect();
    serde_json::Value::Object(object).to_string()
}

fn json_value(value: &prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match &value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        // Struct numbers are doubles; counts read better without a trailing `.0`.
        Some(Kind::NumberValue(number)) if number.fract() == 0.0 && number.abs() < 9.0e15 => {
            serde_json::json!(*number as i64)
        }
        Some(Kind::NumberValue(number)) => serde_json::json!(number),
        Some(Kind::StringValue(text)) => serde_json::Value::String(text.clone()),
        Some(Kind::BoolValue(flag)) => serde_json::Value::Bool(*flag),
        Some(Kind::StructValue(inner)) => serde_json::Value::Object(
            inner
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect(),
        ),
        Some(Kind::ListValue(list)) => {
            serde_json::Value::Array(list.values.iter().map(json_value).collect())
        }
    }
}
