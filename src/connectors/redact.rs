//! Remote systems are not trusted with our secrets' confidentiality either: a server may quote
//! what it was sent in its error messages (a hostile or misconfigured one quotes the password it
//! received), and those messages travel on to API callers, sync errors, events and logs. Every
//! connector is wrapped so that each credential of its setup is cut out of every message it
//! reports, whichever type or code path made the message.

use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};

use super::{
    Connector, ConnectorError, Listed, ObjectProblem, PageStream, RemoteAccess, RemoteAccount,
    RemoteResource,
};

/// What replaces a secret in a message.
pub const REDACTED: &str = "[redacted]";

/// The setup's secrets, to cut out of messages (kept as secrets themselves: wiped when dropped).
#[derive(Clone, Default)]
pub struct Secrets(Vec<SecretString>);

impl Secrets {
    /// Empty values are left out: removing "" from a message is meaningless.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a SecretString>) -> Secrets {
        let mut secrets: Vec<SecretString> = values
            .into_iter()
            .filter(|value| !value.expose_secret().is_empty())
            .cloned()
            .collect();
        // Longest first, so that a secret containing another is cut out whole.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.expose_secret().len()));
        Secrets(secrets)
    }

    pub fn redact(&self, message: &str) -> String {
        self.0.iter().fold(message.to_string(), |text, secret| {
            text.replace(secret.expose_secret(), REDACTED)
        })
    }

    pub fn redact_error(&self, error: ConnectorError) -> ConnectorError {
        match error {
            ConnectorError::InvalidSetup { field, message } => ConnectorError::InvalidSetup {
                field,
                message: self.redact(&message),
            },
            ConnectorError::Unreachable(message) => {
                ConnectorError::Unreachable(self.redact(&message))
            }
            ConnectorError::Remote(message) => ConnectorError::Remote(self.redact(&message)),
        }
    }

    fn redact_problem(&self, problem: ObjectProblem) -> ObjectProblem {
        ObjectProblem {
            external_id: problem.external_id,
            object: self.redact(&problem.object),
            message: self.redact(&problem.message),
        }
    }

    fn redact_pages<'a, T: Send + 'a>(&'a self, pages: PageStream<'a, T>) -> PageStream<'a, T> {
        pages
            .map(move |page| match page {
                Ok(items) => Ok(items
                    .into_iter()
                    .map(|item: Listed<T>| item.map_err(|p| self.redact_problem(p)))
                    .collect()),
                Err(error) => Err(self.redact_error(error)),
            })
            .boxed()
    }
}

/// A connector whose errors never carry its setup's secrets.
pub struct Redacting {
    pub inner: Box<dyn Connector>,
    pub secrets: Secrets,
}

#[async_trait::async_trait]
impl Connector for Redacting {
    async fn validate(&self) -> Result<(), ConnectorError> {
        let checked = self.inner.validate().await;
        checked.map_err(|e| self.secrets.redact_error(e))
    }

    fn list_accounts(&self) -> PageStream<'_, RemoteAccount> {
        self.secrets.redact_pages(self.inner.list_accounts())
    }

    fn list_resources(&self) -> PageStream<'_, RemoteResource> {
        self.secrets.redact_pages(self.inner.list_resources())
    }

    fn list_access(&self) -> PageStream<'_, RemoteAccess> {
        self.secrets.redact_pages(self.inner.list_access())
    }

    async fn add_member(&self, resource: &str, account: &str) -> Result<(), ConnectorError> {
        let added = self.inner.add_member(resource, account).await;
        added.map_err(|e| self.secrets.redact_error(e))
    }

    async fn remove_member(&self, resource: &str, account: &str) -> Result<(), ConnectorError> {
        let removed = self.inner.remove_member(resource, account).await;
        removed.map_err(|e| self.secrets.redact_error(e))
    }

    async fn create_resource(&self, name: &str) -> Result<RemoteResource, ConnectorError> {
        let created = self.inner.create_resource(name).await;
        created.map_err(|e| self.secrets.redact_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_is_cut_out_of_every_kind_of_error() {
        let values = ["hunter2", "hunter2-long", ""].map(SecretString::from);
        let secrets = Secrets::new(&values);
        let errors = [
            ConnectorError::InvalidSetup {
                field: "credentials.password".into(),
                message: "you sent hunter2-long and hunter2".into(),
            },
            ConnectorError::Unreachable("hunter2 at host".into()),
            ConnectorError::Remote("echo: hunter2".into()),
        ];
        for error in errors {
            let text = secrets.redact_error(error).to_string();
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains(REDACTED), "{text}");
        }
        // The empty credential removes nothing.
        assert_eq!(secrets.redact("plain words"), "plain words");
    }
}
