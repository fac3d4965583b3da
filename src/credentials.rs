//! An integration's credentials (passwords, tokens) between the request that brings them and
//! the connector that uses them, or the cipher that seals them.
//!
//! Each value is a [`SecretString`]: wiped from memory when dropped and never shown by `Debug`,
//! which lists only the names. Reading a value takes an explicit `expose_secret()`, which only
//! the connectors' authentication and the sealing do.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use secrecy::zeroize::Zeroize;

#[derive(Clone, Default)]
pub struct Credentials(BTreeMap<String, SecretString>);

impl Credentials {
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    pub fn insert(&mut self, name: impl Into<String>, value: SecretString) {
        self.0.insert(name.into(), value);
    }

    pub fn remove(&mut self, name: &str) -> Option<SecretString> {
        self.0.remove(name)
    }

    /// The names of the credentials set: no secret.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Takes each value over as a secret: a request's map goes in whole.
impl FromIterator<(String, String)> for Credentials {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Credentials(
            pairs
                .into_iter()
                .map(|(name, value)| (name, secret_from(value)))
                .collect(),
        )
    }
}

/// `value` as a secret, leaving no unwiped copy: a string with spare capacity would be
/// reallocated to fit a box, so it is copied into one and wiped instead.
fn secret_from(mut value: String) -> SecretString {
    if value.capacity() == value.len() {
        return SecretString::from(value);
    }
    let secret = SecretString::from(value.as_str());
    value.zeroize();
    secret
}

impl FromIterator<(String, SecretString)> for Credentials {
    fn from_iter<I: IntoIterator<Item = (String, SecretString)>>(pairs: I) -> Self {
        Credentials(pairs.into_iter().collect())
    }
}

impl fmt::Debug for Credentials {
    // Only the names: which credentials are set is no secret, their values are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Credentials")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Tests compare what was sealed with what opens; the service itself never compares secrets.
#[cfg(test)]
impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((a, x), (b, y))| a == b && x.expose_secret() == y.expose_secret())
    }
}

#[cfg(test)]
impl Eq for Credentials {}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn debug_names_the_credentials_and_hides_their_values() {
        let credentials: Credentials = [("password".to_string(), "s3cret-Pw".to_string())]
            .into_iter()
            .collect();
        let debug = format!("{credentials:?}");
        assert!(debug.contains("password"), "{debug}");
        assert!(!debug.contains("s3cret-Pw"), "{debug}");
        assert_eq!(
            credentials.get("password").map(ExposeSecret::expose_secret),
            Some("s3cret-Pw")
        );
    }

    #[test]
    fn a_value_with_spare_capacity_keeps_its_text() {
        let mut roomy = String::with_capacity(64);
        roomy.push_str("s3cret-Pw");
        let credentials: Credentials = [("password".to_string(), roomy)].into_iter().collect();
        assert_eq!(
            credentials.get("password").map(ExposeSecret::expose_secret),
            Some("s3cret-Pw")
        );
    }
}
