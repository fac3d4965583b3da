//! The client commands of the real `oblique` binary (`integrations`, `types`, `sync`, `runs`,
//! `access`, `audit`) against a real `oblique serve` on a test database, with the test remote
//! PostgreSQL as the integrations' system. Each command is a child process whose stdout is a
//! pipe (not a terminal), as a script would run it.

mod access;
mod failures;
mod help;
mod integrations;
mod run_changes;
mod runs;
mod terminal;
mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oblique::pb;

use crate::harness::Clients;
use crate::harness::remote::{READER, READER_PASSWORD, RemoteRoles, remote_postgres};
use crate::harness::servers::create_test_database;
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, text, wait_for_token};

/// Client configuration of the test process that must not reach the binary.
const CLEARED_CLIENT_ENV: [&str; 3] = ["OBLIQUE_TOKEN", "OBLIQUE_SERVER", "OBLIQUE_CA_CERT"];

/// A running server, its data dir (holding the admin-token file the commands read) and gRPC
/// clients with the admin token, to set up and check what the commands cannot.
pub(crate) struct Served {
    // Dropped in this order: the server before its database.
    server: Server,
    _database: DropDatabase,
    data: DataDir,
    files: tempfile::TempDir,
    pub(crate) admin: Clients,
}

impl Served {
    pub(crate) async fn start() -> Served {
        Served::start_with(&[]).await
    }

    /// With extra environment for `oblique serve` (e.g. OBLIQUE_SYNC_WORKERS=0).
    pub(crate) async fn start_with(env: &[(&str, &str)]) -> Served {
        let (database, url) = create_test_database().await;
        let database = DropDatabase(database);
        let data = DataDir::new();
        let files = tempfile::tempdir().expect("tempdir");
        let mut serve = oblique(&data.path());
        serve.env("DATABASE_URL", &url).envs(env.iter().copied());
        let mut server = Server::start(serve, files.path().join("serve.log"));
        let token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
        let admin = server.ready_clients(&token).await;
        Served {
            server,
            _database: database,
            data,
            files,
            admin,
        }
    }

    pub(crate) fn server_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port())
    }

    /// `oblique --server … ARGS`, the token taken from the data dir's admin-token file.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = oblique(&self.data.path());
        for var in CLEARED_CLIENT_ENV {
            cmd.env_remove(var);
        }
        cmd.args(["--server", &self.server_url()]).args(args);
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running oblique")
    }

    /// Runs a command that must succeed; its stdout.
    #[track_caller]
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "oblique {args:?} failed ({}):\n{}",
            output.status,
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// Runs a command with `--output json`; its stdout parsed.
    #[track_caller]
    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let stdout = self.ok(&[args, &["--output", "json"]].concat());
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
    }

    /// Writes `value` as a JSON file for --config-file or --credentials-file.
    pub(crate) fn file(&self, name: &str, value: serde_json::Value) -> PathBuf {
        let path = self.files.path().join(name);
        std::fs::write(&path, value.to_string()).expect("writing a JSON file");
        path
    }

    pub(crate) fn server_log(&self) -> String {
        self.server.log_text()
    }

    /// Creates a postgres integration seeing only `roles`' roles with `oblique integrations
    /// create`: plain values by --set and --config-file, the password by --credentials-file. The
    /// command line is returned with it, to check that the secret is not on it.
    pub(crate) async fn create_integration(
        &self,
        name: &str,
        roles: &RemoteRoles,
    ) -> (pb::Integration, Vec<String>) {
        let remote = remote_postgres().await;
        // The CA certificate is many lines: a file is the way to give it.
        let config = self.file(
            &format!("{name}-config.json"),
            serde_json::json!({ "ca_cert": remote.ca_pem }),
        );
        let credentials = self.file(
            &format!("{name}-credentials.json"),
            serde_json::json!({ "password": READER_PASSWORD }),
        );
        let args: Vec<String> = [
            "integrations",
            "create",
            "--type",
            "postgres",
            "--name",
            name,
            "--set",
            "host=127.0.0.1",
            "--set",
            &format!("port={}", remote.port),
            "--set",
            &format!("username={READER}"),
            "--set",
            &format!("role_pattern={}", roles.pattern()),
            "--config-file",
            path_str(&config),
            "--credentials-file",
            path_str(&credentials),
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let created = self.json(&argv);
        (integration_of(&created), args)
    }
}

pub(crate) fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The `Integration` of the JSON the CLI printed, read back through its id and name.
pub(crate) fn integration_of(json: &serde_json::Value) -> pb::Integration {
    pb::Integration {
        id: json["id"].as_str().expect("an id").to_string(),
        name: json["name"].as_str().expect("a name").to_string(),
        last_sync_run: json["last_sync_run"]["id"].as_str().map(|id| pb::SyncRun {
            id: id.to_string(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The columns of the row of a table whose first cell is `first`.
#[track_caller]
pub(crate) fn row<'a>(table: &'a str, first: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first() == Some(&first))
        .unwrap_or_else(|| panic!("no row {first:?} in:\n{table}"))
}
