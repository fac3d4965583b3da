//! How accounts and roles are named: their external ids (`'name'@'host'`, as MySQL's `QUOTE()`
//! writes each half, and as its messages name accounts) and their quoting in SQL statements,
//! where names cannot be bound as parameters.

/// One account or role: MySQL keys both by user name and host (a MariaDB role's host is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AccountName {
    pub user: String,
    pub host: String,
}

impl AccountName {
    pub fn new(user: impl Into<String>, host: impl Into<String>) -> Self {
        AccountName {
            user: user.into(),
            host: host.into(),
        }
    }

    /// The external id: `'name'@'host'`, each half quoted as `QUOTE()` does (a backslash before
    /// `\`, `'`, NUL and Ctrl-Z), so that it reads back to exactly this name.
    pub fn external_id(&self) -> String {
        format!("{}@{}", quote_string(&self.user), quote_string(&self.host))
    }

    /// Reads an external id made by [`AccountName::external_id`]; `None` for anything else.
    pub fn parse(external_id: &str) -> Option<AccountName> {
        let (user, rest) = unquote_string(external_id)?;
        let rest = rest.strip_prefix('@')?;
        let (host, rest) = unquote_string(rest)?;
        rest.is_empty().then_some(AccountName { user, host })
    }

    /// The account in a statement: `` `name`@`host` ``.
    pub fn grantee_sql(&self) -> String {
        format!(
            "{}@{}",
            quote_identifier(&self.user),
            quote_identifier(&self.host)
        )
    }

    /// The role in a statement: a MariaDB role (no host) by its name alone, as MariaDB's GRANT
    /// wants it; a MySQL role as the account it is.
    pub fn role_sql(&self) -> String {
        if self.host.is_empty() {
            quote_identifier(&self.user)
        } else {
            self.grantee_sql()
        }
    }
}

/// `'text'` with `\`, `'`, NUL and Ctrl-Z escaped by a backslash, as MySQL's `QUOTE()`.
fn quote_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\'' => quoted.push_str("\\'"),
            '\0' => quoted.push_str("\\0"),
            '\u{1a}' => quoted.push_str("\\Z"),
            c => quoted.push(c),
        }
    }
    quoted.push('\'');
    quoted
}

/// The text of a leading [`quote_string`] literal, and what follows it.
fn unquote_string(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('\'')?.char_indices();
    let mut value = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '\'' => {
                let rest = chars.as_str();
                return Some((value, rest));
            }
            '\\' => value.push(match chars.next()?.1 {
                '0' => '\0',
                'Z' => '\u{1a}',
                escaped @ ('\\' | '\'') => escaped,
                _ => return None,
            }),
            c => value.push(c),
        }
    }
    None
}

/// A name as a quoted identifier: inside backticks every character stands for itself except
/// the backtick, which is doubled (whatever the session's sql_mode says of backslashes).
pub(super) fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_read_back_to_the_same_name() {
        let plain = AccountName::new("alice", "%");
        assert_eq!(plain.external_id(), "'alice'@'%'");
        let odd = AccountName::new("o'b\\r `x` @'y'", "10.0.%");
        assert_eq!(odd.external_id(), r"'o\'b\\r `x` @\'y\''@'10.0.%'");
        let role = AccountName::new("readers", "");
        assert_eq!(role.external_id(), "'readers'@''");
        let control = AccountName::new("a\0b\u{1a}", "h");
        for name in [plain, odd, role, control] {
            assert_eq!(AccountName::parse(&name.external_id()), Some(name));
        }
        for bad in [
            "",
            "alice",
            "'alice'",
            "'alice'@",
            "'alice'@'%'x",
            "'a@'%'",
            r"'a\x'@'%'",
            "x'a'@''",
            "'alice'@'%",
        ] {
            assert_eq!(AccountName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn quotes_identifiers_for_statements() {
        assert_eq!(quote_identifier("readers"), "`readers`");
        assert_eq!(quote_identifier("a`b"), "`a``b`");
        assert_eq!(
            quote_identifier("x`; DROP USER y; --"),
            "`x``; DROP USER y; --`"
        );
        let odd = AccountName::new("o'b `x`", "%");
        assert_eq!(odd.grantee_sql(), "`o'b ``x```@`%`");
        assert_eq!(AccountName::new("we'ird", "").role_sql(), "`we'ird`");
        assert_eq!(AccountName::new("r", "%").role_sql(), "`r`@`%`");
    }
}
