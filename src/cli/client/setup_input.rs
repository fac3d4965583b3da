//! An integration's setup as the command line takes it: plain values from `--set KEY=VALUE` and
//! `--config-file`, secrets only from `--credentials-file` or a prompt that does not echo. A
//! secret given where a plain value goes is refused before anything is sent, so that it does not
//! stay in a shell history, `ps` or a config file checked in with the others.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};

use crate::pb;

/// `KEY=VALUE` pairs, in order (a later one wins).
pub fn parse_sets(sets: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    sets.iter()
        .map(|set| match set.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_string(), value.to_string()))
            }
            _ => bail!("--set {set:?}: expected KEY=VALUE"),
        })
        .collect()
}

/// A JSON object of strings (numbers and booleans are taken as their text) from `path`.
pub fn read_json_map(path: &Path, flag: &str) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {flag} {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{flag} {} is not JSON", path.display()))?;
    let serde_json::Value::Object(object) = value else {
        bail!(
            "{flag} {} must hold a JSON object of strings",
            path.display()
        );
    };
    object
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                _ => bail!(
                    "{flag} {}: {key} must be a string, number or boolean",
                    path.display()
                ),
            };
            Ok((key, text))
        })
        .collect()
}

/// The names of `kind`'s secret fields.
pub fn secret_fields(kind: &pb::IntegrationType) -> Vec<&pb::SetupField> {
    kind.setup_fields
        .iter()
        .filter(|field| field.secret)
        .collect()
}

/// Refuses a secret field among plain values (`source` says where they came from).
pub fn refuse_secrets_in_config<'a>(
    kind: &pb::IntegrationType,
    keys: impl IntoIterator<Item = &'a String>,
    source: &str,
) -> anyhow::Result<()> {
    for key in keys {
        if secret_fields(kind).iter().any(|field| &field.name == key) {
            bail!(
                "{key} is a secret of the {} type: give it in --credentials-file FILE.json or at \
                 the prompt, not in {source}",
                kind.name
            );
        }
    }
    Ok(())
}

/// Refuses a plain field in the credentials file: it would be dropped or stored as a secret.
pub fn refuse_plain_in_credentials(
    kind: &pb::IntegrationType,
    credentials: &HashMap<String, String>,
) -> anyhow::Result<()> {
    let secrets: Vec<&str> = secret_fields(kind)
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    for key in credentials.keys() {
        if !secrets.contains(&key.as_str()) {
            bail!(
                "--credentials-file: {key} is not a secret field of the {} type (its secrets: \
                 {}); give plain values with --set",
                kind.name,
                secrets.join(", ")
            );
        }
    }
    Ok(())
}

/// Asks for each secret field of `kind` on the terminal, without echo; an empty answer leaves
/// the field out (the server says when a required one is missing). `None` when there is no
/// terminal to ask on.
pub fn prompt_credentials(
    kind: &pb::IntegrationType,
) -> anyhow::Result<Option<HashMap<String, String>>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let mut credentials = HashMap::new();
    for field in secret_fields(kind) {
        let need = if field.required {
            "required"
        } else {
            "optional, Enter to skip"
        };
        let prompt = format!("{} ({need}; {}): ", field.name, field.description);
        let answer = rpassword::prompt_password(prompt)
            .with_context(|| format!("reading {} from the terminal", field.name))?;
        if !answer.is_empty() {
            credentials.insert(field.name.clone(), answer);
        }
    }
    Ok(Some(credentials))
}

/// The type called `name`, with its setup fields.
pub async fn integration_type(
    calls: &super::connection::Calls,
    name: &str,
) -> anyhow::Result<pb::IntegrationType> {
    use super::failure::Answer;
    let types = calls
        .integrations
        .clone()
        .list_integration_types(pb::ListIntegrationTypesRequest {})
        .await
        .answer("listing integration types")?
        .types;
    let known: Vec<String> = types.iter().map(|kind| kind.name.clone()).collect();
    types
        .into_iter()
        .find(|kind| kind.name == name)
        .with_context(|| {
            format!(
                "unknown type {name:?}; the server knows: {}",
                known.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn postgres() -> pb::IntegrationType {
        let field = |name: &str, secret| pb::SetupField {
            name: name.into(),
            secret,
            ..Default::default()
        };
        pb::IntegrationType {
            name: "postgres".into(),
            setup_fields: vec![field("host", false), field("password", true)],
            ..Default::default()
        }
    }

    #[test]
    fn sets_split_at_the_first_equals_sign() {
        let sets = parse_sets(&["host=db".into(), "dsn=a=b".into()]).unwrap();
        assert_eq!(sets[1], ("dsn".into(), "a=b".into()));
        assert!(parse_sets(&["novalue".into()]).is_err());
        assert!(parse_sets(&["=x".into()]).is_err());
    }

    #[test]
    fn secrets_are_refused_among_plain_values_and_plain_values_among_secrets() {
        let kind = postgres();
        let error = refuse_secrets_in_config(&kind, &["password".to_string()], "--set")
            .unwrap_err()
            .to_string();
        assert!(error.contains("--credentials-file"), "{error}");
        assert!(refuse_secrets_in_config(&kind, &["host".to_string()], "--set").is_ok());
        let plain: HashMap<String, String> = [("host".to_string(), "db".to_string())].into();
        assert!(refuse_plain_in_credentials(&kind, &plain).is_err());
    }

    #[test]
    fn json_maps_take_strings_numbers_and_booleans() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(&path, r#"{"host": "db", "port": 5432, "tls": true}"#).unwrap();
        let map = read_json_map(&path, "--config-file").unwrap();
        assert_eq!(map["port"], "5432");
        assert_eq!(map["tls"], "true");
        std::fs::write(&path, r#"{"host": ["a"]}"#).unwrap();
        assert!(read_json_map(&path, "--config-file").is_err());
        std::fs::write(&path, r#"["a"]"#).unwrap();
        assert!(read_json_map(&path, "--config-file").is_err());
    }
}
