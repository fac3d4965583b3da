//! Bearer tokens: `obl_<id>_<secret>`. The id finds the row; only a SHA-256 of the secret is
//! stored, and it is compared in constant time.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{Principal, Role};
use crate::db::audit::{self, AuditEntry};
use crate::db::{models::ApiTokenRow, tokens};
use crate::error::{AppError, AppResult};
use crate::model::AuditAction;

const PREFIX: &str = "obl_";
/// 256 bits of randomness in the secret part.
const SECRET_BYTES: usize = 32;
/// `last_used_at` is refreshed at most this often, so authentication is a read, not a write.
const LAST_USED_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Length of the secret part: SECRET_BYTES in unpadded base64url.
const SECRET_CHARS: usize = (SECRET_BYTES * 4).div_ceil(3);

/// Splits a presented token into its row id and secret; `None` when it is not of our shape.
fn parse(token: &str) -> Option<(Uuid, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let secret_shape = secret.len() == SECRET_CHARS
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !secret_shape {
        return None;
    }
    Some((Uuid::try_parse(id).ok()?, secret))
}

/// Whether a presented token is of the shape we issue: checked without the database, so that
/// garbage never costs a connection.
pub fn is_well_formed(presented: &SecretString) -> bool {
    parse(presented.expose_secret()).is_some()
}

/// The one answer to any token that does not authenticate.
pub fn refused() -> AppError {
    AppError::Unauthenticated("invalid or revoked token".into())
}

/// Makes a token named `name`; returns the only copy of its text. Not audited by itself: admin
/// paths go through [`create`].
pub async fn issue(
    conn: &mut AsyncPgConnection,
    name: &str,
    role: Role,
) -> AppResult<SecretString> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::invalid("name", "must be 1 to 100 characters"));
    }
    let id = Uuid::now_v7();
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    tokens::insert(conn, id, name, role.as_str(), &hash_secret(&secret))
        .await
        .map_err(|error| match AppError::from(error) {
            error if error.is_unique_violation_on("api_tokens_active_name") => {
                AppError::AlreadyExists(format!("a token named {name:?} already exists"))
            }
            other => other,
        })?;
    Ok(SecretString::from(format!(
        "{PREFIX}{}_{secret}",
        id.simple()
    )))
}

/// Issues a token as an admin action: the token and its audit event commit together.
pub async fn create(
    conn: &mut AsyncPgConnection,
    name: &str,
    role: Role,
    actor: &Principal,
) -> AppResult<SecretString> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let secret = issue(conn, name, role).await?;
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::TokenCreate,
                integration_id: None,
                resource_id: None,
                details: json!({"name": name.trim(), "role": role.as_str()}),
            },
        )
        .await?;
        Ok(secret)
    })
    .await
}

/// Revokes the active token named `name`, auditing it; NOT_FOUND when there is none.
pub async fn revoke(conn: &mut AsyncPgConnection, name: &str, actor: &Principal) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        if !tokens::revoke(conn, name).await? {
            return Err(AppError::not_found(format!("active token named {name:?}")));
        }
        audit::record(
            conn,
            AuditEntry {
                actor,
                action: AuditAction::TokenRevoke,
                integration_id: None,
                resource_id: None,
                details: json!({"name": name}),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

/// The principal a presented token stands for. Unknown, malformed and revoked tokens all get the
/// same answer, so a caller learns nothing from the difference.
pub async fn authenticate(
    conn: &mut AsyncPgConnection,
    presented: &SecretString,
) -> AppResult<Principal> {
    let (id, secret) = parse(presented.expose_secret()).ok_or_else(refused)?;
    let row: ApiTokenRow = tokens::find_active(conn, id).await?.ok_or_else(refused)?;
    if !bool::from(hash_secret(secret).ct_eq(row.secret_hash.as_slice())) {
        return Err(refused());
    }
    let role = Role::parse(&row.role)
        .ok_or_else(|| anyhow::anyhow!("token {} has unknown role {:?}", row.id, row.role))?;
    let now = chrono::Utc::now();
    if row
        .last_used_at
        .is_none_or(|used| now - used > LAST_USED_RESOLUTION)
    {
        tokens::touch(conn, id, now).await?;
    }
    Ok(Principal {
        name: row.name,
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_well_formed_tokens() {
        let id = Uuid::now_v7();
        let secret = URL_SAFE_NO_PAD.encode([7u8; SECRET_BYTES]);
        let text = format!("{PREFIX}{}_{secret}", id.simple());
        assert_eq!(parse(&text), Some((id, secret.as_str())));
        assert_eq!(parse("abc"), None);
        assert_eq!(parse(&format!("obl_nothex_{secret}")), None);
        assert_eq!(parse(&format!("{PREFIX}{}", id.simple())), None);
        assert_eq!(
            parse(&format!("{PREFIX}{}_abc", id.simple())),
            None,
            "short secret"
        );
        assert_eq!(parse(&format!("{text}x")), None, "long secret");
        let odd = format!("{PREFIX}{}_!{}", id.simple(), &secret[1..]);
        assert_eq!(parse(&odd), None, "not base64url");
    }

    #[test]
    fn hashes_are_not_the_secret() {
        let hash = hash_secret("s3cret");
        assert_ne!(&hash[..6], b"s3cret");
        assert_eq!(hash, hash_secret("s3cret"));
    }
}
