//! Turning ldap3 errors and LDAP result codes into [`ConnectorError`]s that name what the caller
//! should fix.

use ldap3::{LdapError, LdapResult};

use super::settings::{Base, LdapSettings};
use crate::connectors::ConnectorError;
use crate::connectors::setup::invalid;
use crate::connectors::tls::{is_untrusted_issuer, is_wrong_name, untrusted_issuer};

/// The LDAP result codes (RFC 4511, appendix A) the connector tells apart.
pub(super) mod rc {
    pub const SUCCESS: u32 = 0;
    pub const SIZE_LIMIT_EXCEEDED: u32 = 4;
    pub const COMPARE_FALSE: u32 = 5;
    pub const COMPARE_TRUE: u32 = 6;
    pub const STRONGER_AUTH_REQUIRED: u32 = 8;
    pub const REFERRAL: u32 = 10;
    pub const ADMIN_LIMIT_EXCEEDED: u32 = 11;
    pub const CONFIDENTIALITY_REQUIRED: u32 = 13;
    pub const NO_SUCH_ATTRIBUTE: u32 = 16;
    pub const ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const INVALID_DN_SYNTAX: u32 = 34;
    pub const INAPPROPRIATE_AUTHENTICATION: u32 = 48;
    pub const INVALID_CREDENTIALS: u32 = 49;
    pub const INSUFFICIENT_ACCESS_RIGHTS: u32 = 50;
    pub const BUSY: u32 = 51;
    pub const UNAVAILABLE: u32 = 52;
    pub const UNWILLING_TO_PERFORM: u32 = 53;
    pub const OBJECT_CLASS_VIOLATION: u32 = 65;
    pub const ENTRY_ALREADY_EXISTS: u32 = 68;
}

pub(super) fn timed_out(settings: &LdapSettings) -> ConnectorError {
    let seconds = settings.timeout.as_secs();
    ConnectorError::Unreachable(format!(
        "cannot reach LDAP at {}: no answer within {seconds}s",
        settings.url
    ))
}

/// `rc=49 (invalidCredentials): text`, how messages quote a result.
fn describe(result: &LdapResult) -> String {
    // ldap3's Display gives `rc=49 (invalidCredentials), dn: "", text: "…"`.
    let name = result
        .to_string()
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(name, _)| name.to_string())
        .unwrap_or_default();
    match result.text.trim() {
        "" => format!("rc={} ({name})", result.rc),
        text => format!("rc={} ({name}): {text}", result.rc),
    }
}

/// A failure of the connection itself, whatever operation was under way; `None` for a result
/// the server sent, which the caller maps knowing what it asked.
fn transport(error: &LdapError, settings: &LdapSettings) -> Option<ConnectorError> {
    let tls_field = if settings.starttls {
        "config.starttls"
    } else {
        "config.url"
    };
    let unreachable = |reason: String| {
        ConnectorError::Unreachable(format!("cannot reach LDAP at {}: {reason}", settings.url))
    };
    Some(match error {
        LdapError::LdapResult { .. } => return None,
        // tokio-rustls reports a failed handshake as an io::Error wrapping the rustls::Error.
        LdapError::Io { source } => {
            match source
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
            {
                Some(tls) => tls_failed(tls, tls_field, settings),
                None => unreachable(source.to_string()),
            }
        }
        LdapError::Rustls { source } => tls_failed(source, tls_field, settings),
        LdapError::DNSName { source } => invalid(
            "config.url",
            format!("not a host name TLS can verify: {source}"),
        ),
        LdapError::Timeout { .. } => timed_out(settings),
        LdapError::UrlParsing { source } => invalid("config.url", source.to_string()),
        LdapError::UnknownScheme(scheme) => {
            invalid("config.url", format!("unknown scheme {scheme}"))
        }
        LdapError::EndOfStream
        | LdapError::ResultRecv { .. }
        | LdapError::OpSend { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. } => unreachable("the connection was closed".into()),
        other => ConnectorError::Remote(format!("LDAP: {other}")),
    })
}

/// A failed handshake, blamed on the field a person should look at first: the trust anchors for
/// an unknown issuer, the URL's host for a certificate naming another, else the TLS mode.
fn tls_failed(error: &rustls::Error, field: &str, settings: &LdapSettings) -> ConnectorError {
    let failed = format!("TLS handshake failed: {error}");
    if is_untrusted_issuer(error) {
        untrusted_issuer(&failed, settings.ca_cert.is_some())
    } else if is_wrong_name(error) {
        invalid(
            "config.url",
            format!("{failed}: the server's certificate does not name the host in config.url"),
        )
    } else {
        invalid(field, failed)
    }
}

/// Connecting, including StartTLS: the only request before the bind is StartTLS, so a result
/// the server sends is its refusal.
pub(super) fn connect_error(error: LdapError, settings: &LdapSettings) -> ConnectorError {
    match error {
        LdapError::LdapResult { result } => invalid(
            "config.starttls",
            format!("the server refused StartTLS: {}", describe(&result)),
        ),
        // Accepted, then closed at the first TLS message: a plain LDAP port, most likely.
        LdapError::Io { source }
            if source.kind() == std::io::ErrorKind::UnexpectedEof
                && settings.url.to_ascii_lowercase().starts_with("ldaps://") =>
        {
            invalid(
                "config.url",
                "the server closed the connection during the TLS handshake: is this an \
                 ldaps:// port? (use ldap:// with starttls for a plain port)",
            )
        }
        other => transport(&other, settings)
            .unwrap_or_else(|| ConnectorError::Remote(format!("LDAP: {other}"))),
    }
}

/// Any later operation: connection trouble, else what `result` makes of the server's answer.
pub(super) fn operation_error(
    error: LdapError,
    settings: &LdapSettings,
    result: impl FnOnce(&LdapResult) -> ConnectorError,
) -> ConnectorError {
    match error {
        LdapError::LdapResult { result: answer } => result(&answer),
        other => transport(&other, settings)
            .unwrap_or_else(|| ConnectorError::Remote(format!("LDAP: {other}"))),
    }
}

/// The bind's result, unless it succeeded.
pub(super) fn bind_error(result: &LdapResult) -> ConnectorError {
    let reason = describe(result);
    match result.rc {
        // Also what a bind DN that does not exist gets: servers do not tell the two apart.
        rc::INVALID_CREDENTIALS | rc::INAPPROPRIATE_AUTHENTICATION | rc::UNWILLING_TO_PERFORM => {
            invalid(
                "credentials.bind_password",
                format!("the server refused the bind DN and password: {reason}"),
            )
        }
        rc::INVALID_DN_SYNTAX => invalid("config.bind_dn", format!("not a DN: {reason}")),
        rc::CONFIDENTIALITY_REQUIRED | rc::STRONGER_AUTH_REQUIRED => invalid(
            "config.starttls",
            format!("the server requires TLS: use ldaps:// or starttls ({reason})"),
        ),
        _ => result_error("bind", result),
    }
}

/// A search's final result, unless it succeeded. Truncated results are errors: entries a
/// listing never got would be taken for deleted ones.
pub(super) fn search_error(result: &LdapResult, base: Base) -> ConnectorError {
    let reason = describe(result);
    match result.rc {
        rc::NO_SUCH_OBJECT => invalid(
            base.field(),
            format!("no such entry in the directory: {reason}"),
        ),
        rc::INVALID_DN_SYNTAX => invalid(base.field(), format!("not a DN: {reason}")),
        rc::INSUFFICIENT_ACCESS_RIGHTS => invalid(
            "config.bind_dn",
            format!("the bind DN may not search {}: {reason}", base.field()),
        ),
        rc::REFERRAL => invalid(
            base.field(),
            format!(
                "the server refers this base to another server ({}): point config.url there",
                result.refs.join(", ")
            ),
        ),
        rc::SIZE_LIMIT_EXCEEDED | rc::ADMIN_LIMIT_EXCEEDED => ConnectorError::Remote(format!(
            "the server cut the search of {} short even with paged results: {reason}",
            base.field()
        )),
        _ => result_error("search", result),
    }
}

/// Any other unwelcome result of `action`.
pub(super) fn result_error(action: &str, result: &LdapResult) -> ConnectorError {
    let reason = describe(result);
    match result.rc {
        rc::BUSY | rc::UNAVAILABLE => {
            ConnectorError::Unreachable(format!("the LDAP server is not serving: {reason}"))
        }
        _ => ConnectorError::Remote(format!("LDAP {action} failed: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rc: u32, text: &str) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: text.into(),
            refs: vec![],
            ctrls: vec![],
        }
    }

    fn field_of(error: ConnectorError) -> String {
        match error {
            ConnectorError::InvalidSetup { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn names_the_field_a_result_blames() {
        let bind = bind_error(&result(rc::INVALID_CREDENTIALS, ""));
        assert_eq!(field_of(bind), "credentials.bind_password");
        let starttls = bind_error(&result(rc::CONFIDENTIALITY_REQUIRED, "TLS required"));
        assert_eq!(field_of(starttls), "config.starttls");
        let missing = search_error(&result(rc::NO_SUCH_OBJECT, ""), Base::Groups);
        assert_eq!(field_of(missing), "config.group_base");
        let denied = search_error(&result(rc::INSUFFICIENT_ACCESS_RIGHTS, ""), Base::Users);
        assert_eq!(field_of(denied), "config.bind_dn");
    }

    #[test]
    fn a_truncated_search_is_an_error_that_quotes_the_server() {
        let error = search_error(&result(rc::SIZE_LIMIT_EXCEEDED, "limit"), Base::Users);
        match error {
            ConnectorError::Remote(message) => {
                assert!(
                    message.contains("rc=4 (sizeLimitExceeded): limit"),
                    "{message}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            result_error("modify", &result(rc::BUSY, "")),
            ConnectorError::Unreachable(_)
        ));
    }
}
