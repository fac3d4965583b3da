//! An integration type's setup form: rendered from the connector catalogue (each field's name,
//! help text, default; secret fields as password inputs that never show a value), and read back
//! into checked values, refusing what the gRPC edge refuses and naming the field.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::page;
use crate::connectors::{IntegrationKind, SetupField};
use crate::credentials::Credentials;
use crate::error::{AppError, AppResult};

/// A form as the browser sent it, in order.
pub type Fields = Vec<(String, String)>;

const MAX_NAME_CHARS: usize = 200;
const MAX_SYNC_INTERVAL_SECONDS: i32 = 30 * 24 * 3600;
/// A setup value (a host, a filter, a CA certificate in PEM) is never longer than this.
const MAX_SETUP_VALUE_BYTES: usize = 8 * 1024;

pub fn value<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.as_str())
}

/// The non-secret setup values of a form, blank ones left out (a default fills them).
pub fn config_of(kind: IntegrationKind, fields: &Fields) -> AppResult<BTreeMap<String, String>> {
    let mut config = BTreeMap::new();
    for field in kind.setup_fields().iter().filter(|field| !field.secret) {
        if let Some(text) = value(fields, field.name).filter(|text| !text.trim().is_empty()) {
            checked_value(field, text)?;
            config.insert(field.name.to_string(), text.trim().to_string());
        }
    }
    Ok(config)
}

/// The secret setup values a form carries (blank ones left out).
pub fn credentials_of(kind: IntegrationKind, fields: &Fields) -> AppResult<Credentials> {
    let mut credentials = Vec::new();
    for field in kind.setup_fields().iter().filter(|field| field.secret) {
        if let Some(text) = value(fields, field.name).filter(|text| !text.is_empty()) {
            checked_value(field, text)?;
            credentials.push((field.name.to_string(), text.to_string()));
        }
    }
    Ok(credentials.into_iter().collect())
}

fn checked_value(field: &SetupField, text: &str) -> AppResult<()> {
    let prefix = if field.secret {
        "credentials"
    } else {
        "config"
    };
    if text.contains('\0') {
        return Err(AppError::invalid(
            format!("{prefix}.{}", field.name),
            "must not contain NUL characters",
        ));
    }
    if text.len() > MAX_SETUP_VALUE_BYTES {
        return Err(AppError::invalid(
            format!("{prefix}.{}", field.name),
            format!("must be at most {MAX_SETUP_VALUE_BYTES} bytes"),
        ));
    }
    Ok(())
}

pub fn name_of(fields: &Fields) -> AppResult<String> {
    let name = value(fields, "name").unwrap_or_default().trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "is required"));
    }
    if name.contains('\0') {
        return Err(AppError::invalid("name", "must not contain NUL characters"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_string())
}

/// `None` when the form leaves it blank.
pub fn sync_interval_of(fields: &Fields) -> AppResult<Option<i32>> {
    let text = value(fields, "sync_interval_seconds")
        .unwrap_or_default()
        .trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i32>() {
        Ok(seconds) if (1..=MAX_SYNC_INTERVAL_SECONDS).contains(&seconds) => Ok(Some(seconds)),
        _ => Err(AppError::invalid(
            "sync_interval_seconds",
            format!("must be a whole number of seconds between 1 and {MAX_SYNC_INTERVAL_SECONDS}"),
        )),
    }
}

/// A checkbox: present when ticked.
pub fn checked(fields: &Fields, name: &str) -> bool {
    value(fields, name).is_some()
}

/// The inputs of `kind`'s setup fields, filled with `values` (never a secret: those inputs are
/// always empty), with `error` next to the field it names. With `keep_secrets`, a blank secret
/// keeps the stored one (the Settings form).
pub fn setup_inputs(
    kind: IntegrationKind,
    values: &BTreeMap<String, String>,
    error: Option<(&str, &str)>,
    keep_secrets: bool,
) -> Markup {
    html! {
        @for field in kind.setup_fields() {
            @let error = error.filter(|(name, _)| *name == field.name).map(|(_, message)| message);
            @let help_id = format!("{}-help", field.name);
            @let described = if error.is_some() {
                format!("{help_id} {}-error", field.name)
            } else {
                help_id.clone()
            };
            div.field {
                label for=(field.name) {
                    (field.name)
                    @if field.required && !(field.secret && keep_secrets) { " (required)" }
                }
                p.help id=(help_id) {
                    (field.description)
                    @if !field.description.ends_with('.') { "." }
                    @if let Some(default) = field.default { " Default: " code { (default) } "." }
                    @if field.secret && keep_secrets { " Leave blank to keep the stored one." }
                }
                @if field.secret {
                    input id=(field.name) name=(field.name) type="password" autocomplete="new-password"
                        required[field.required && !keep_secrets]
                        aria-invalid=[error.map(|_| "true")] aria-describedby=(described);
                } @else if field.name == "ca_cert" {
                    textarea id=(field.name) name=(field.name) rows="4"
                        aria-invalid=[error.map(|_| "true")] aria-describedby=(described) {
                        (values.get(field.name).map(String::as_str).unwrap_or_default())
                    }
                } @else {
                    input id=(field.name) name=(field.name) type="text"
                        value=(values.get(field.name).map(String::as_str).unwrap_or_default())
                        placeholder=[field.default]
                        required[field.required]
                        aria-invalid=[error.map(|_| "true")] aria-describedby=(described);
                }
                (page::field_error(field.name, error))
            }
        }
    }
}

/// A plain labelled text input of the integration itself (`name`, `sync_interval_seconds`).
pub fn text_input(
    name: &str,
    label: &str,
    help: &str,
    value: &str,
    error: Option<(&str, &str)>,
) -> Markup {
    let error = error
        .filter(|(field, _)| *field == name)
        .map(|(_, message)| message);
    let help_id = format!("{name}-help");
    let described = if error.is_some() {
        format!("{help_id} {name}-error")
    } else {
        help_id.clone()
    };
    html! {
        div.field {
            label for=(name) { (label) }
            p.help id=(help_id) { (help) }
            input id=(name) name=(name) type="text" value=(value)
                aria-invalid=[error.map(|_| "true")] aria-describedby=(described);
            (page::field_error(name, error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_form_splits_into_config_and_credentials() {
        let form = fields(&[
            ("name", " pg "),
            ("host", "db.example"),
            ("port", ""),
            ("password", "s3cret"),
            ("csrf", "x"),
        ]);
        let config = config_of(IntegrationKind::Postgres, &form).unwrap();
        assert_eq!(config.get("host").map(String::as_str), Some("db.example"));
        assert!(!config.contains_key("port"));
        assert!(!config.contains_key("csrf"));
        let credentials = credentials_of(IntegrationKind::Postgres, &form).unwrap();
        assert_eq!(credentials.names().collect::<Vec<_>>(), ["password"]);
        assert_eq!(name_of(&form).unwrap(), "pg");
    }

    #[test]
    fn bad_values_name_their_field() {
        let error = name_of(&fields(&[("name", "  ")])).unwrap_err();
        assert!(matches!(error, AppError::InvalidArgument { field, .. } if field == "name"));
        let error = sync_interval_of(&fields(&[("sync_interval_seconds", "0")])).unwrap_err();
        assert!(
            matches!(error, AppError::InvalidArgument { field, .. } if field == "sync_interval_seconds")
        );
        assert_eq!(sync_interval_of(&fields(&[])).unwrap(), None);
    }

    #[test]
    fn secret_inputs_never_show_a_value() {
        let mut values = BTreeMap::new();
        values.insert("password".to_string(), "leaked".to_string());
        let html = setup_inputs(IntegrationKind::Postgres, &values, None, false).into_string();
        assert!(!html.contains("leaked"));
        assert!(html.contains(r#"name="password" type="password""#));
    }
}
