//! The token a client command presents: `OBLIQUE_TOKEN`, else the first admin token's file in
//! the data dir, which `oblique serve` writes on a new installation. Never a flag: argv is
//! readable by every user of the machine.

use std::path::Path;

use anyhow::{Context, bail};
use secrecy::SecretString;

use crate::cli::admin_token_file::ADMIN_TOKEN_FILE;

/// Where the token is read from when the data dir's file does not serve.
pub const TOKEN_ENV: &str = "OBLIQUE_TOKEN";

/// `OBLIQUE_TOKEN` when set and not blank, else `<data_dir>/admin-token`.
pub fn resolve(data_dir: &Path) -> anyhow::Result<SecretString> {
    if let Ok(token) = std::env::var(TOKEN_ENV)
        && !token.trim().is_empty()
    {
        return Ok(SecretString::from(token.trim().to_string()));
    }
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(SecretString::from(text.trim().to_string())),
        Ok(_) => bail!("{} is empty; set {TOKEN_ENV} to a token", path.display()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "no token: set {TOKEN_ENV} (e.g. to one made by `oblique token create`), or run \
             where --data-dir holds the admin-token file `oblique serve` wrote (looked for {})",
            path.display()
        ),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}
