//! Checking a caller's config and credentials against an integration type's setup fields.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use super::ConnectorError;
use crate::credentials::Credentials;

/// One field of a type's setup form. Secret fields travel in `credentials`, the rest in `config`.
#[derive(Clone, Copy, Debug)]
pub struct SetupField {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    pub secret: bool,
    pub default: Option<&'static str>,
}

/// A field of a type's setup form, for the types' `SETUP_FIELDS` tables.
pub(crate) const fn field(
    name: &'static str,
    description: &'static str,
    required: bool,
    secret: bool,
    default: Option<&'static str>,
) -> SetupField {
    SetupField {
        name,
        description,
        required,
        secret,
        default,
    }
}

/// A setup whose keys are all known to its type, with defaults filled in and required fields
/// present. Values are not yet checked against the system.
/// `Debug` shows the credentials' names only (see [`Credentials`]).
#[derive(Clone, Debug)]
pub struct Setup {
    pub config: BTreeMap<String, String>,
    pub credentials: Credentials,
}

impl Setup {
    /// Checks both maps against `fields`: unknown keys, secrets in the wrong map and missing
    /// required fields are refused, naming the field; defaults fill what was left out.
    pub fn check(
        fields: &[SetupField],
        config: BTreeMap<String, String>,
        credentials: Credentials,
    ) -> Result<Self, ConnectorError> {
        check_keys(fields, config.keys().map(String::as_str), "config", false)?;
        check_keys(fields, credentials.names(), "credentials", true)?;
        let mut setup = Setup {
            config,
            credentials,
        };
        for field in fields {
            let (present, prefix) = if field.secret {
                let value = setup.credentials.get(field.name);
                let blank = value.is_none_or(|v| v.expose_secret().trim().is_empty());
                (!blank, "credentials")
            } else {
                let value = setup.config.get(field.name);
                (value.is_some_and(|v| !v.trim().is_empty()), "config")
            };
            if present {
                continue;
            }
            if field.secret {
                setup.credentials.remove(field.name);
            } else {
                setup.config.remove(field.name);
            }
            match field.default {
                Some(default) if field.secret => {
                    setup
                        .credentials
                        .insert(field.name, SecretString::from(default));
                }
                Some(default) => {
                    setup
                        .config
                        .insert(field.name.to_string(), default.to_string());
                }
                None if field.required => {
                    return Err(invalid(format!("{prefix}.{}", field.name), "is required"));
                }
                None => {}
            }
        }
        Ok(setup)
    }

    /// A config value, after defaults.
    pub fn config(&self, name: &str) -> Option<&str> {
        self.config.get(name).map(String::as_str)
    }

    pub fn credential(&self, name: &str) -> Option<&SecretString> {
        self.credentials.get(name)
    }
}

fn check_keys<'a>(
    fields: &[SetupField],
    keys: impl Iterator<Item = &'a str>,
    prefix: &str,
    secret: bool,
) -> Result<(), ConnectorError> {
    for key in keys {
        match fields.iter().find(|f| f.name == key) {
            None => {
                let known: Vec<_> = fields
                    .iter()
                    .filter(|f| f.secret == secret)
                    .map(|f| f.name)
                    .collect();
                return Err(invalid(
                    format!("{prefix}.{key}"),
                    format!("unknown setup field (known: {})", known.join(", ")),
                ));
            }
            Some(field) if field.secret && !secret => {
                return Err(invalid(
                    format!("{prefix}.{key}"),
                    "is secret: pass it in credentials",
                ));
            }
            Some(field) if !field.secret && secret => {
                return Err(invalid(
                    format!("{prefix}.{key}"),
                    "is not secret: pass it in config",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConnectorError {
    ConnectorError::InvalidSetup {
        field: field.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[SetupField] = &[
        SetupField {
            name: "host",
            description: "",
            required: true,
            secret: false,
            default: None,
        },
        SetupField {
            name: "port",
            description: "",
            required: false,
            secret: false,
            default: Some("5432"),
        },
        SetupField {
            name: "password",
            description: "",
            required: true,
            secret: true,
            default: None,
        },
    ];

    fn map<Map: FromIterator<(String, String)>>(pairs: &[(&str, &str)]) -> Map {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn field_of(error: ConnectorError) -> String {
        match error {
            ConnectorError::InvalidSetup { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn fills_defaults() {
        let setup = Setup::check(FIELDS, map(&[("host", "db")]), map(&[("password", "pw")]))
            .expect("valid");
        assert_eq!(setup.config("port"), Some("5432"));
    }

    #[test]
    fn names_the_missing_or_misplaced_field() {
        let missing = Setup::check(FIELDS, map(&[]), map(&[("password", "pw")])).unwrap_err();
        assert_eq!(field_of(missing), "config.host");
        let blank = Setup::check(FIELDS, map(&[("host", " ")]), map(&[("password", "pw")]));
        assert_eq!(field_of(blank.unwrap_err()), "config.host");
        let unknown = Setup::check(FIELDS, map(&[("host", "h"), ("hots", "x")]), map(&[]));
        assert_eq!(field_of(unknown.unwrap_err()), "config.hots");
        let secret_in_config =
            Setup::check(FIELDS, map(&[("host", "h"), ("password", "pw")]), map(&[]));
        assert_eq!(field_of(secret_in_config.unwrap_err()), "config.password");
        let no_password = Setup::check(FIELDS, map(&[("host", "h")]), map(&[]));
        assert_eq!(field_of(no_password.unwrap_err()), "credentials.password");
    }

    #[test]
    fn debug_hides_credentials() {
        let setup = Setup::check(
            FIELDS,
            map(&[("host", "h")]),
            map(&[("password", "s3cret")]),
        )
        .unwrap();
        assert!(!format!("{setup:?}").contains("s3cret"));
    }
}
