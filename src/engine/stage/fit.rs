//! What staging can hold. A remote value PostgreSQL cannot store would fail the COPY or the
//! merge, and with it the whole sync: a NUL character (legal in LDAP values, impossible in
//! PostgreSQL text) or a value indexed by a btree too long for an index row (emails, usernames,
//! external ids; a btree row holds at most ~2,700 bytes). Such an object becomes one sync error
//! naming it, and the rest of the listing goes on.

use crate::connectors::{ObjectProblem, RemoteAccess, RemoteAccount, RemoteResource};

/// The longest indexed value stored, in bytes: below a btree row's limit with the integration
/// id beside it, far above any real username, email or external id.
pub const MAX_KEY_BYTES: usize = 2000;
/// Problems are stored as sync errors keyed by their object's name, and shown to people.
const MAX_PROBLEM_OBJECT_BYTES: usize = 1000;
const MAX_PROBLEM_MESSAGE_BYTES: usize = 2000;
/// How long an object's name in a problem made here may get.
const MAX_NAME_BYTES: usize = 200;

/// A listed object, checked before staging: itself, or the problem it is.
pub trait Fit: Sized {
    fn fit(self) -> Result<Self, ObjectProblem>;
}

/// Why `value` (named `field`) cannot be stored; `key`: whether an index holds it.
fn unfit(field: &str, value: &str, key: bool) -> Option<String> {
    if value.contains('\0') {
        return Some(format!(
            "{field} holds a NUL character, which PostgreSQL text cannot store"
        ));
    }
    (key && value.len() > MAX_KEY_BYTES).then(|| {
        format!(
            "{field} is {} bytes long; at most {MAX_KEY_BYTES} can be stored",
            value.len()
        )
    })
}

/// The first reason among `checks` (field, value, indexed) that makes the object unfit.
fn first_unfit<'a>(checks: impl IntoIterator<Item = (&'a str, &'a str, bool)>) -> Option<String> {
    checks
        .into_iter()
        .find_map(|(field, value, key)| unfit(field, value, key))
}

/// `kind:name` with the first of `names` that is storable and short, else a cleaned-up one.
fn object_name(kind: &str, names: &[&str]) -> String {
    let name = names
        .iter()
        .find(|name| !name.is_empty() && !name.contains('\0') && name.len() <= MAX_NAME_BYTES)
        .map(|name| name.to_string())
        .unwrap_or_else(|| clean(names.first().copied().unwrap_or_default(), MAX_NAME_BYTES));
    format!("{kind}:{name}")
}

/// The external id a problem may carry: only one that could be stored (and so be known).
fn known_id(external_id: &str) -> Option<String> {
    unfit("", external_id, true)
        .is_none()
        .then(|| external_id.to_string())
}

impl Fit for RemoteAccount {
    fn fit(self) -> Result<Self, ObjectProblem> {
        let mut checks = vec![
            ("external id", self.external_id.as_str(), true),
            ("username", self.username.as_str(), true),
            ("email", self.email.as_deref().unwrap_or_default(), true),
            ("display name", self.display_name.as_str(), false),
        ];
        checks.extend(
            self.member_names
                .iter()
                .map(|name| ("a member name", name.as_str(), true)),
        );
        for (name, values) in &self.attributes {
            checks.push(("an attribute name", name.as_str(), true));
            checks.extend(
                values
                    .iter()
                    .map(|value| (name.as_str(), value.as_str(), false)),
            );
        }
        match first_unfit(checks) {
            None => Ok(self),
            Some(message) => Err(ObjectProblem {
                external_id: known_id(&self.external_id),
                object: object_name("account", &[&self.username, &self.external_id]),
                message,
            }),
        }
    }
}

impl Fit for RemoteResource {
    fn fit(self) -> Result<Self, ObjectProblem> {
        let mut checks = vec![
            ("external id", self.external_id.as_str(), true),
            ("name", self.name.as_str(), false),
            ("description", self.description.as_str(), false),
        ];
        checks.extend(
            self.member_names
                .iter()
                .map(|name| ("a member name", name.as_str(), true)),
        );
        match first_unfit(checks) {
            None => Ok(self),
            Some(message) => Err(ObjectProblem {
                external_id: known_id(&self.external_id),
                object: object_name("resource", &[&self.name, &self.external_id]),
                message,
            }),
        }
    }
}

impl Fit for RemoteAccess {
    fn fit(self) -> Result<Self, ObjectProblem> {
        let checks = [
            (
                "resource external id",
                self.resource_external_id.as_str(),
                true,
            ),
            (
                match self.by_member_name {
                    true => "account member name",
                    false => "account external id",
                },
                self.account_external_id.as_str(),
                true,
            ),
        ];
        match first_unfit(checks) {
            None => Ok(self),
            Some(message) => {
                let resource = object_name("", &[&self.resource_external_id]);
                let account = object_name("", &[&self.account_external_id]);
                Err(ObjectProblem {
                    external_id: None,
                    object: format!("access{resource} member{account}"),
                    message,
                })
            }
        }
    }
}

/// A problem as it can be stored: no NUL anywhere, its texts capped in bytes.
pub fn storable(problem: ObjectProblem) -> ObjectProblem {
    ObjectProblem {
        external_id: problem.external_id.as_deref().and_then(known_id),
        object: clean(&problem.object, MAX_PROBLEM_OBJECT_BYTES),
        message: clean(&problem.message, MAX_PROBLEM_MESSAGE_BYTES),
    }
}

/// `text` with NULs replaced (U+FFFD), cut on a character boundary to at most `max` bytes
/// (ending in `…` when cut).
fn clean(text: &str, max: usize) -> String {
    let text = text.replace('\0', "\u{FFFD}");
    if text.len() <= max {
        return text;
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(username: &str, email: Option<&str>) -> RemoteAccount {
        RemoteAccount {
            member_names: Vec::new(),
            external_id: format!("id-{}", username.len()),
            username: username.to_string(),
            email: email.map(str::to_string),
            display_name: "Someone".into(),
            attributes: vec![("title".into(), vec!["Boss".into()])],
        }
    }

    #[test]
    fn a_storable_account_passes_unchanged() {
        let fine = account("jdoe", Some("jdoe@example.org"));
        assert_eq!(fine.clone().fit(), Ok(fine));
    }

    #[test]
    fn a_nul_or_an_overlong_key_makes_a_named_problem() {
        let long_mail = format!("{}@example.org", "x".repeat(5000));
        let problem = account("jdoe", Some(&long_mail)).fit().unwrap_err();
        assert_eq!(problem.object, "account:jdoe");
        assert_eq!(problem.external_id.as_deref(), Some("id-4"));
        assert!(
            problem.message.starts_with("email is 5012 bytes"),
            "{problem:?}"
        );

        let mut nul = account("jane", None);
        nul.attributes[0].1.push("a\0b".into());
        let problem = nul.fit().unwrap_err();
        assert_eq!(problem.object, "account:jane");
        assert!(
            problem.message.starts_with("title holds a NUL"),
            "{problem:?}"
        );

        let problem = account("ja\0ne", None).fit().unwrap_err();
        assert_eq!(problem.object, "account:id-5");
    }

    #[test]
    fn problems_are_cut_on_a_character_boundary() {
        let problem = storable(ObjectProblem {
            external_id: Some("bad\0id".into()),
            object: "é".repeat(1000),
            message: "a\0b".into(),
        });
        assert_eq!(problem.external_id, None);
        assert!(problem.object.len() <= MAX_PROBLEM_OBJECT_BYTES);
        assert!(problem.object.ends_with("é…"));
        assert_eq!(problem.message, "a\u{FFFD}b");
    }
}
