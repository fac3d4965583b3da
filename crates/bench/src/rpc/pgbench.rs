//! The floor of `--rpc`: `pgbench` with as many clients, for as long, running the indexed
//! SELECT `GetIntegration` starts with (the integration's row by primary key). pgbench draws a
//! number, not a uuid, so the id comes from `bench_integration_ids` in the same statement: one
//! more index probe per transaction, which makes the floor a little lower, never higher.

use std::path::PathBuf;
use std::process::Stdio;
use std::str::FromStr;

use anyhow::{Context, bail};
use tokio::process::Command;

use super::RpcLoad;

pub struct PgbenchResult {
    pub transactions_per_second: f64,
    pub latency_average_ms: f64,
}

pub async fn run(url: &str, load: RpcLoad) -> anyhow::Result<PgbenchResult> {
    let config = tokio_postgres::Config::from_str(url).context("reading the database url")?;
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("get_integration.sql");
    std::fs::write(
        &script,
        format!(
            "\\set n random(1, {})\n\
             SELECT * FROM integrations\n\
             WHERE id = (SELECT id FROM bench_integration_ids WHERE n = :n);\n",
            load.integrations
        ),
    )?;
    let mut command = Command::new(pgbench_binary()?);
    command
        .args(["--no-vacuum", "--protocol=prepared"])
        .arg(format!("--client={}", load.callers))
        .arg("--jobs=2")
        .arg(format!("--time={}", load.duration.as_secs().max(1)))
        .arg(format!("--file={}", script.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for host in config.get_hosts() {
        if let tokio_postgres::config::Host::Tcp(host) = host {
            command.env("PGHOST", host);
        }
    }
    if let Some(port) = config.get_ports().first() {
        command.env("PGPORT", port.to_string());
    }
    if let Some(user) = config.get_user() {
        command.env("PGUSER", user);
    }
    if let Some(password) = config.get_password() {
        command.env("PGPASSWORD", String::from_utf8_lossy(password).to_string());
    }
    if let Some(options) = config.get_options() {
        command.env("PGOPTIONS", options);
    }
    let database = config
        .get_dbname()
        .context("the database url names no database")?;
    command.arg(database);
    let output = command.output().await.context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}\n{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(PgbenchResult {
        transactions_per_second: figure(&stdout, "tps = ")?,
        latency_average_ms: figure(&stdout, "latency average = ")?,
    })
}

/// The number after `label` on pgbench's report line that has it.
fn figure(report: &str, label: &str) -> anyhow::Result<f64> {
    report
        .lines()
        .find_map(|line| line.split_once(label))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .with_context(|| format!("pgbench printed no {label:?}:\n{report}"))
}

/// pgbench from the PostgreSQL binaries the throwaway cluster runs from (where `postgres`
/// really is: the directory found may hold links to a few of them only).
fn pgbench_binary() -> anyhow::Result<PathBuf> {
    let binaries = oblique::db::embedded::PostgresBinaries::locate()
        .map_err(|error| anyhow::anyhow!("finding PostgreSQL's binaries: {error}"))?;
    let server = std::fs::canonicalize(binaries.bindir.join("postgres"))?;
    let candidates = [
        binaries.bindir.join("pgbench"),
        server.with_file_name("pgbench"),
    ];
    match candidates.iter().find(|candidate| candidate.exists()) {
        Some(pgbench) => Ok(pgbench.clone()),
        None => bail!("no pgbench beside {}", server.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::figure;

    #[test]
    fn reads_the_figures_of_a_pgbench_report() {
        let report = "number of failed transactions: 0 (0.000%)\n\
                      latency average = 3.114 ms\n\
                      initial connection time = 40.2 ms\n\
                      tps = 20549.313946 (without initial connection time)\n";
        assert_eq!(figure(report, "tps = ").unwrap(), 20549.313946);
        assert_eq!(figure(report, "latency average = ").unwrap(), 3.114);
        assert!(figure("", "tps = ").is_err());
    }
}
