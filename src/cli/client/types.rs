//! `oblique types [TYPE]`: the kinds of system the server integrates with, and what one needs
//! to be set up (the keys of `--set`, and which are secrets).

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::connection::Calls;
use super::failure::Answer;
use super::output::{OutputFormat, Table, or_dash, print_json, yes_no};
use crate::pb;

#[derive(Debug, Args)]
pub struct TypesArgs {
    /// Show this type's setup fields (secret ones go in --credentials-file or the prompt).
    #[arg(value_name = "TYPE")]
    pub kind: Option<String>,
}

pub async fn run(calls: &Calls, format: OutputFormat, args: TypesArgs) -> anyhow::Result<ExitCode> {
    let answer = calls
        .integrations
        .clone()
        .list_integration_types(pb::ListIntegrationTypesRequest {})
        .await
        .answer("listing integration types")?;
    match args.kind {
        None => match format {
            OutputFormat::Json => print_json(&answer)?,
            OutputFormat::Table => types_table(&answer.types).print()?,
        },
        Some(name) => {
            let known: Vec<&str> = answer.types.iter().map(|kind| kind.name.as_str()).collect();
            let kind = answer
                .types
                .iter()
                .find(|kind| kind.name == name)
                .with_context(|| {
                    format!(
                        "unknown type {name:?}; the server knows: {}",
                        known.join(", ")
                    )
                })?;
            match format {
                OutputFormat::Json => print_json(kind)?,
                OutputFormat::Table => fields_table(kind).print()?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn types_table(types: &[pb::IntegrationType]) -> Table {
    let mut table = Table::new(&["TYPE", "NAME", "PUSH", "CREATES RESOURCES", "SETUP FIELDS"]);
    for kind in types {
        let capabilities = kind.capabilities.unwrap_or_default();
        let fields: Vec<String> = kind
            .setup_fields
            .iter()
            .map(|field| {
                // `*` marks a secret, as the setup form would mask it.
                if field.secret {
                    format!("{}*", field.name)
                } else {
                    field.name.clone()
                }
            })
            .collect();
        table.row(vec![
            kind.name.clone(),
            kind.display_name.clone(),
            yes_no(capabilities.can_push).into(),
            yes_no(capabilities.can_create_resources).into(),
            fields.join(" "),
        ]);
    }
    table
}

fn fields_table(kind: &pb::IntegrationType) -> Table {
    let mut table = Table::new(&["FIELD", "REQUIRED", "SECRET", "DEFAULT", "DESCRIPTION"]);
    for field in &kind.setup_fields {
        table.row(vec![
            field.name.clone(),
            yes_no(field.required).into(),
            yes_no(field.secret).into(),
            or_dash(&field.default),
            field.description.clone(),
        ]);
    }
    table
}
