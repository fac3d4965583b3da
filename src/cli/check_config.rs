//! `oblique serve --check-config`: what `serve` would refuse at start, found before a deploy
//! rather than during it. Checks the listen address against the TLS flags, the TLS files (a
//! certificate chain and the key that belongs to it), the database (reachable, and which
//! migrations serve would apply) and the credentials key (the one the database's credentials
//! were sealed with). It prints one line per check, stops at the first problem with a non-zero
//! exit, and changes nothing: no migration, no key file, no token.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{GlobalArgs, ServeArgs, keys, serve};
use crate::db::{self, migrate};

pub async fn check(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<()> {
    serve::check_listen_is_protected(
        args.listen,
        args.tls_cert.is_some(),
        args.allow_insecure_listen,
    )?;
    report(format!("listen address {}", args.listen))?;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        check_tls_pair(cert, key)?;
        report(format!("TLS certificate {} and its key", cert.display()))?;
    }
    if let Some(client_ca) = &args.tls_client_ca {
        certificates(client_ca)?;
        report(format!("client CA {}", client_ca.display()))?;
    }
    // An embedded database is started (and stopped again) like `serve` would start it.
    let database = serve::resolve(global, false).await?;
    let result = check_database(global, &database.url).await;
    database.shutdown().await;
    result
}

async fn check_database(global: &GlobalArgs, url: &str) -> anyhow::Result<()> {
    let mut conn = db::connect::establish(url)
        .await
        .context("connecting to the database")?;
    match migrate::pending_versions(&mut conn).await {
        Ok(pending) if pending.is_empty() => report("database reachable, fully migrated")?,
        Ok(pending) => report(format!(
            "database reachable; serve applies {} migration(s): {}",
            pending.len(),
            pending.join(", ")
        ))?,
        // No migrations table yet: a new database.
        Err(_) => report("database reachable, empty; serve migrates it")?,
    }
    let key = keys::startup::check(&mut conn, keys::key_source(global)).await?;
    report(format!("credentials key: {key}"))
}

fn report(line: impl AsRef<str>) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "ok: {}", line.as_ref())?;
    Ok(())
}

/// The certificates of a PEM file; at least one.
fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading PEM certificates from {}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
    Ok(certs)
}

/// The certificate chain and the private key parse, and the key is the certificate's.
fn check_tls_pair(cert: &Path, key: &Path) -> anyhow::Result<()> {
    let chain = certificates(cert)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading a PEM private key from {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| format!("the key does not fit the certificate {}", cert.display()))?;
    Ok(())
}
