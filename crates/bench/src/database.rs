//! The benchmark's database: a fresh one on the server of `DATABASE_URL`, or on a throwaway
//! cluster started for the benchmark (the testkit's, as the tests use). Everything is removed
//! again by [`BenchDatabase::close`] (the throwaway cluster also when the benchmark fails or
//! panics: dropping it stops it).

use anyhow::Context;
use oblique::cli::database::create_database_if_missing;
use oblique_testkit::postgres::ThrowawayCluster;

pub struct BenchDatabase {
    /// The benchmark's own database.
    pub url: String,
    pub name: String,
    /// The server's maintenance database, for creating and dropping ours.
    admin_url: String,
    /// The throwaway cluster, when there is no DATABASE_URL.
    cluster: Option<ThrowawayCluster>,
}

impl BenchDatabase {
    /// `session_options` (e.g. `-c enable_nestloop=off`) go to every connection to the
    /// benchmark's database, the engine's included, as the libpq `options` parameter.
    pub async fn open(
        database_url: Option<&str>,
        session_options: Option<&str>,
    ) -> anyhow::Result<Self> {
        let name = format!("oblique_bench_{}", uuid::Uuid::new_v4().simple());
        let (admin_url, cluster) = match database_url {
            Some(url) => (with_database(url, "postgres")?, None),
            None => {
                let cluster = ThrowawayCluster::try_start("oblique-bench").await?;
                (cluster.url("postgres"), Some(cluster))
            }
        };
        let database = BenchDatabase {
            url: with_options(&with_database(&admin_url, &name)?, session_options),
            name,
            admin_url,
            cluster,
        };
        create_database_if_missing(&database.admin_url, &database.name).await?;
        Ok(database)
    }

    /// Drops the database (on a shared server) or stops and removes the throwaway cluster.
    pub async fn close(mut self) -> anyhow::Result<()> {
        if let Some(mut cluster) = self.cluster.take() {
            cluster.stop().await;
            // Dropping it removes its files.
            drop(cluster);
            return Ok(());
        }
        let (client, connection) = oblique::db::connect::connect(&self.admin_url).await?;
        let connection = tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await?;
        drop(client);
        let _ = connection.await;
        Ok(())
    }
}

/// `url` with its database replaced by `database` (query string kept).
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (url, String::new()),
    };
    let after_scheme = head
        .find("://")
        .map(|i| i + 3)
        .context("DATABASE_URL must be a postgres:// URL")?;
    let base = match head[after_scheme..].find('/') {
        Some(slash) => &head[..after_scheme + slash],
        None => head,
    };
    Ok(format!("{base}/{database}{query}"))
}

/// `url` with the libpq `options` parameter added (percent-encoded).
fn with_options(url: &str, options: Option<&str>) -> String {
    let Some(options) = options.filter(|o| !o.is_empty()) else {
        return url.to_string();
    };
    let encoded: String = options
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options={encoded}")
}

#[cfg(test)]
mod tests {
    use super::{with_database, with_options};

    #[test]
    fn adds_session_options() {
        assert_eq!(
            with_options("postgres://h/d", Some("-c a=b")),
            "postgres://h/d?options=-c%20a%3Db"
        );
        assert_eq!(
            with_options("postgres://h/d?x=1", None),
            "postgres://h/d?x=1"
        );
    }

    #[test]
    fn replaces_the_database() {
        let url = |u| with_database(u, "b").unwrap();
        assert_eq!(
            url("postgres://u:p@h:5/a?sslmode=disable"),
            "postgres://u:p@h:5/b?sslmode=disable"
        );
        assert_eq!(url("postgres://u@h"), "postgres://u@h/b");
        assert!(with_database("host=h", "b").is_err());
    }
}
