//! Console sessions, kept in this process's memory. The browser holds only a random session id
//! (256 bits) in an `HttpOnly`, `SameSite=Strict` cookie, `Secure` when served over TLS; the
//! token it signed in with is never stored, in the cookie or here: the session keeps the token's
//! row id (its public part), so each request can ask whether the token is still active.
//!
//! Sessions end at sign-out, after [`IDLE`] without a request, [`LIFETIME`] after sign-in at the
//! latest, when the token is revoked, and when the process stops (a replica that restarts signs
//! its users out; sessions are not shared between replicas, so a load balancer in front of
//! several needs sticky sessions).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::model::Principal;

/// The cookie that carries the session id.
pub const COOKIE: &str = "oblique_session";
/// The field every form carries the session's CSRF token in.
pub const CSRF_FIELD: &str = "csrf";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, however busy.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Sessions kept at once; past it the oldest goes first.
const CAPACITY: usize = 10_000;

/// What a request learns from its session.
#[derive(Clone, Debug)]
pub struct Signed {
    pub principal: Principal,
    /// The synchroniser token every form of this session carries (see `guard`).
    pub csrf: String,
    pub token_id: Uuid,
}

struct Session {
    signed: Signed,
    created: Instant,
    last_seen: Instant,
}

/// The SHA-256 of a session id: the map never holds the id a browser presents.
type SessionKey = [u8; 32];

fn key_of(id: &str) -> SessionKey {
    Sha256::digest(id.as_bytes()).into()
}

fn random_text() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<SessionKey, Session>>,
}

impl Sessions {
    /// Starts a session for `principal`; returns the id for the cookie.
    pub fn start(&self, principal: Principal, token_id: Uuid) -> String {
        let id = random_text();
        let now = Instant::now();
        let mut sessions = self.lock();
        sessions.retain(|_, session| is_live(session, now));
        if sessions.len() >= CAPACITY
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, session)| session.created)
                .map(|(key, _)| *key)
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            key_of(&id),
            Session {
                signed: Signed {
                    principal,
                    csrf: random_text(),
                    token_id,
                },
                created: now,
                last_seen: now,
            },
        );
        id
    }

    /// The live session of `id`, marked as used now.
    pub fn find(&self, id: &str) -> Option<Signed> {
        let now = Instant::now();
        let key = key_of(id);
        let mut sessions = self.lock();
        let session = sessions.get_mut(&key)?;
        if !is_live(session, now) {
            sessions.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(session.signed.clone())
    }

    /// Keeps the session's view of its principal current (a token's role can only be read, not
    /// changed, today; this keeps the session right if that ever changes).
    pub fn refresh(&self, id: &str, principal: Principal) {
        if let Some(session) = self.lock().get_mut(&key_of(id)) {
            session.signed.principal = principal;
        }
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(&key_of(id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn is_live(session: &Session, now: Instant) -> bool {
    now.duration_since(session.created) < LIFETIME && now.duration_since(session.last_seen) < IDLE
}

/// Whether a form's CSRF token is the session's, compared in constant time.
pub fn csrf_matches(signed: &Signed, presented: &str) -> bool {
    bool::from(signed.csrf.as_bytes().ct_eq(presented.as_bytes()))
}

/// The `Set-Cookie` value that hands the browser its session id.
pub fn cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        LIFETIME.as_secs()
    )
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// The session id among a request's `Cookie` headers.
pub fn session_id(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|value| !value.is_empty())
}

/// The row id of a token of our shape (`obl_<id>_<secret>`): its public part.
pub fn token_row_id(presented: &str) -> Option<Uuid> {
    let rest = presented.strip_prefix("obl_")?;
    let (id, _) = rest.split_once('_')?;
    Uuid::try_parse(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn admin() -> Principal {
        Principal {
            name: "a".into(),
            role: Role::Admin,
        }
    }

    #[test]
    fn a_session_is_found_by_its_id_only_until_it_ends() {
        let sessions = Sessions::default();
        let id = sessions.start(admin(), Uuid::nil());
        let signed = sessions.find(&id).unwrap();
        assert_eq!(signed.principal, admin());
        assert!(csrf_matches(&signed, &signed.csrf));
        assert!(!csrf_matches(&signed, ""));
        assert!(sessions.find("made-up").is_none());
        sessions.end(&id);
        assert!(sessions.find(&id).is_none());
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_tls() {
        let plain = cookie("x", false);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        assert!(cookie("x", true).ends_with("; Secure"));
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=1; oblique_session=abc".parse().unwrap(),
        );
        assert_eq!(session_id(&headers).as_deref(), Some("abc"));
    }

    #[test]
    fn the_token_row_id_is_its_public_part() {
        let id = Uuid::now_v7();
        let text = format!("obl_{}_secret", id.simple());
        assert_eq!(token_row_id(&text), Some(id));
        assert_eq!(token_row_id("nonsense"), None);
    }
}
