//! TLS to Oblique's own database: a cluster that accepts only TLS (`hostssl`), reached with each
//! `sslmode` and `sslrootcert`, by the pool, the event listener, staging and migrations.

use std::path::PathBuf;

use diesel_async::RunQueryDsl;
use oblique::db::connect::establish;
use oblique::pb;
use tokio::sync::OnceCell;

use crate::harness::{create_request, wait_for_run};
use crate::serve_binary::{DataDir, Server, oblique, wait_for_token};
use oblique_testkit::pki::TestCa;
use oblique_testkit::postgres::remote::{Admission, RemoteCluster};

/// A throwaway cluster with ssl=on and only `hostssl` lines (the testkit's remote cluster in
/// its TLS-only mode), with its CA's PEM and another CA's in files.
struct TlsCluster {
    remote: RemoteCluster,
    pem_dir: tempfile::TempDir,
}

impl TlsCluster {
    fn ca(&self) -> PathBuf {
        self.pem_dir.path().join("ca.pem")
    }

    fn other_ca(&self) -> PathBuf {
        self.pem_dir.path().join("other-ca.pem")
    }

    /// postgres@HOST:PORT/DATABASE with `params` (the superuser is trusted, over TLS only).
    fn url(&self, host: &str, database: &str, params: &str) -> String {
        format!(
            "postgres://postgres@{host}:{}/{database}?{params}",
            self.remote.port()
        )
    }

    fn verify_full(&self, database: &str) -> String {
        let ca = self.ca();
        self.url(
            "127.0.0.1",
            database,
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        )
    }
}

async fn tls_cluster() -> &'static TlsCluster {
    static CLUSTER: OnceCell<TlsCluster> = OnceCell::const_new();
    CLUSTER
        .get_or_init(|| async {
            let remote =
                RemoteCluster::start(&["localhost", "127.0.0.1"], Admission::TlsOnly).await;
            let pem_dir = tempfile::tempdir().unwrap();
            std::fs::write(pem_dir.path().join("ca.pem"), remote.ca_pem()).unwrap();
            let other = TestCa::new("some other CA").pem();
            std::fs::write(pem_dir.path().join("other-ca.pem"), other).unwrap();
            TlsCluster { remote, pem_dir }
        })
        .await
}

async fn connect_error(url: &str) -> String {
    match establish(url).await {
        Ok(_) => panic!("connected with {url}"),
        Err(error) => error.to_string(),
    }
}

async fn encrypted(url: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Ssl {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
    }
    let mut conn = establish(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<Ssl>(&mut conn)
        .await
        .unwrap()
        .ssl
}

#[tokio::test]
async fn each_sslmode_checks_what_libpq_checks() {
    let cluster = tls_cluster().await;
    let ca = cluster.ca().display().to_string();
    let other = cluster.other_ca().display().to_string();

    assert!(encrypted(&cluster.verify_full("postgres")).await);
    // prefer used to fall back to plaintext silently; require needs no root certificate.
    assert!(encrypted(&cluster.url("127.0.0.1", "postgres", "sslmode=prefer")).await);
    assert!(encrypted(&cluster.url("127.0.0.1", "postgres", "sslmode=require")).await);
    let by_name = format!("sslmode=verify-full&sslrootcert={ca}");
    assert!(encrypted(&cluster.url("localhost", "postgres", &by_name)).await);

    let error = connect_error(&cluster.url("127.0.0.1", "postgres", "sslmode=disable")).await;
    assert!(
        error.contains("no encryption") || error.contains("pg_hba.conf"),
        "{error}"
    );
    for mode in ["verify-full", "verify-ca", "require"] {
        let url = cluster.url(
            "127.0.0.1",
            "postgres",
            &format!("sslmode={mode}&sslrootcert={other}"),
        );
        let error = connect_error(&url).await;
        assert!(
            error.contains("TLS") || error.contains("certificate"),
            "{mode}: {error}"
        );
    }

    // A name the certificate does not carry: verify-full refuses, verify-ca (chain only) accepts.
    let renamed = |mode: &str| {
        cluster.url(
            "db.example.org",
            "postgres",
            &format!("hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={ca}"),
        )
    };
    let error = connect_error(&renamed("verify-full")).await;
    assert!(
        error.contains("TLS") || error.contains("certificate"),
        "{error}"
    );
    assert!(encrypted(&renamed("verify-ca")).await);

    let error = connect_error(&cluster.url("127.0.0.1", "postgres", "sslmode=allow")).await;
    assert!(error.contains("unknown sslmode \"allow\""), "{error}");
}

#[tokio::test]
async fn serve_migrates_listens_stages_and_syncs_over_verify_full_tls() {
    let cluster = tls_cluster().await;
    let database = format!("oblique_tls_{}", uuid::Uuid::new_v4().simple());
    oblique::cli::database::create_database_if_missing(&cluster.verify_full("postgres"), &database)
        .await
        .expect("creating the database over TLS");

    let data = DataDir::new();
    let logs = tempfile::tempdir().unwrap();
    let mut cmd = oblique(&data.path());
    cmd.env("DATABASE_URL", cluster.verify_full(&database))
        .env("RUST_LOG", "info,oblique::engine::hub=debug");
    let mut server = Server::start(cmd, logs.path().join("serve.log"));
    let token = wait_for_token(&mut server, &data.path().join("admin-token")).await;
    let clients = server.ready_clients(&token).await;
    let created = clients
        .integrations
        .clone()
        .create_integration(create_request("over tls").await)
        .await
        .expect("creating an integration")
        .into_inner();
    let run = created.last_sync_run.expect("initial run");
    let run = wait_for_run(&clients, &run.id).await;
    assert_eq!(run.state(), pb::SyncRunState::Succeeded, "{run:?}");
    assert!(server.terminate().await.success());
    let log = server.log_text();
    assert!(
        log.contains("listening for sync events"),
        "LISTEN never connected:\n{log}"
    );
    assert!(!log.contains("event listener failed"), "{log}");
}
