//! The PostgreSQL servers tests use: one for Oblique's own databases (TEST_DATABASE_URL or
//! DATABASE_URL when set, else a throwaway cluster), and a throwaway "remote system" cluster
//! with password authentication that integrations connect to (see `remote`). Throwaway clusters
//! (`oblique_testkit::postgres`) are stopped when the test process exits.
//!
//! Test databases are migrated by an owner role and served by a runtime role that owns nothing,
//! as in production: the whole suite proves that the runtime role's privileges suffice.

use std::sync::OnceLock;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

/// A cluster for the whole test process (the db_tls tests dress one in TLS).
pub use oblique_testkit::postgres::start_throwaway;

/// The role that owns the test databases' tables (runs migrations), and the one TestApp serves
/// as (granted what it needs by the owner). Their password only matters on a server that asks.
pub const OWNER_ROLE: &str = "oblique_test_owner";
pub const RUNTIME_ROLE: &str = "oblique_test_runtime";
const ROLE_PASSWORD: &str = "oblique_test";

/// Server URL without a database: `postgres://user@host:port`, plus any query string.
#[derive(Clone, Debug)]
pub struct ServerUrl {
    base: String,
    query: String,
}

impl ServerUrl {
    fn parse(url: &str) -> Self {
        let (without_query, query) = match url.split_once('?') {
            Some((head, query)) => (head, format!("?{query}")),
            None => (url, String::new()),
        };
        let after_scheme = without_query.find("://").map_or(0, |i| i + 3);
        let base = match without_query[after_scheme..].find('/') {
            Some(slash) => &without_query[..after_scheme + slash],
            None => without_query,
        };
        ServerUrl {
            base: base.to_string(),
            query,
        }
    }

    pub fn database(&self, name: &str) -> String {
        format!("{}/{}{}", self.base, name, self.query)
    }

    /// `database` as another role (with the test roles' password).
    pub fn database_as(&self, role: &str, name: &str) -> String {
        let after_scheme = self.base.find("://").map_or(0, |i| i + 3);
        let host = match self.base.rfind('@') {
            Some(at) => &self.base[at + 1..],
            None => &self.base[after_scheme..],
        };
        let scheme = &self.base[..after_scheme];
        format!("{scheme}{role}:{ROLE_PASSWORD}@{host}/{name}{}", self.query)
    }
}

/// URL of test database `name` as its owner.
pub fn owner_url(name: &str) -> Option<String> {
    SERVER_FOR_DROP
        .get()
        .map(|s| s.database_as(OWNER_ROLE, name))
}

/// Creates the owner and runtime roles unless they exist (test processes may race).
async fn ensure_test_roles(admin: &mut AsyncPgConnection) {
    for role in [OWNER_ROLE, RUNTIME_ROLE] {
        admin
            .batch_execute(&format!(
                "DO $$ BEGIN CREATE ROLE {role} LOGIN PASSWORD '{ROLE_PASSWORD}'; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ))
            .await
            .expect("creating the test roles (needs CREATEROLE)");
    }
}

/// Where Oblique's test databases live.
pub async fn oblique_server() -> &'static ServerUrl {
    static SERVER: OnceLock<ServerUrl> = OnceLock::new();
    SERVER.get_or_init(|| {
        match std::env::var("TEST_DATABASE_URL").or_else(|_| std::env::var("DATABASE_URL")) {
            Ok(url) if !url.is_empty() => ServerUrl::parse(&url),
            _ => ServerUrl::parse(&format!(
                "postgres://postgres@127.0.0.1:{}/postgres",
                start_throwaway("db")
            )),
        }
    })
}

/// A fresh, migrated database for one test (copied from a template migrated once).
pub async fn create_test_database() -> (String, String) {
    let server = oblique_server().await;
    let template = migrated_template(server).await;
    let name = format!("oblique_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = AsyncPgConnection::establish(&server.database("postgres"))
        .await
        .expect("connecting to the test server");
    // CREATE DATABASE refuses a template someone else is copying at that instant: retry until
    // it is free, however many tests copy it at once.
    let deadline = tokio::time::Instant::now() + super::PATIENCE;
    loop {
        let created = diesel::sql_query(format!(
            "CREATE DATABASE {name} TEMPLATE {template} OWNER {OWNER_ROLE}"
        ))
        .execute(&mut admin)
        .await;
        match created {
            Ok(_) => break,
            Err(error) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(%error, "retrying CREATE DATABASE");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(error) => panic!("creating test database: {error}"),
        }
    }
    let runtime_url = server.database_as(RUNTIME_ROLE, &name);
    (name, runtime_url)
}

/// A fresh database without any migration, for migration tests.
pub async fn create_empty_database() -> (String, String) {
    let server = oblique_server().await;
    let _ = SERVER_FOR_DROP.set(server.clone());
    let name = format!("oblique_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = AsyncPgConnection::establish(&server.database("postgres"))
        .await
        .expect("connecting to the test server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("creating database");
    (name.clone(), server.database(&name))
}

/// Drops a test database from a plain thread: it runs from `Drop`, outside any runtime.
pub fn drop_test_database(name: String) {
    let url = match OnceLock::get(&SERVER_FOR_DROP) {
        Some(server) => server.database("postgres"),
        None => return,
    };
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            runtime.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&url).await {
                    let _ = conn
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        }
    })
    .join();
}

static SERVER_FOR_DROP: OnceLock<ServerUrl> = OnceLock::new();

/// The template's name carries a hash of the migrations, so a changed migration gets a new one.
async fn migrated_template(server: &'static ServerUrl) -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    let _ = SERVER_FOR_DROP.set(server.clone());
    TEMPLATE
        .get_or_init(|| async {
            // "roles": templates of older harnesses were migrated by the superuser.
            let name = format!("oblique_test_tpl_roles_{}", migrations_hash());
            let mut admin = AsyncPgConnection::establish(&server.database("postgres"))
                .await
                .expect("connecting to the test server");
            // Several test processes may start at once.
            admin
                .batch_execute("SELECT pg_advisory_lock(4242001)")
                .await
                .expect("lock");
            ensure_test_roles(&mut admin).await;
            #[derive(diesel::QueryableByName)]
            struct Found {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                found: bool,
            }
            let exists: Found = diesel::sql_query(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS found",
            )
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result(&mut admin)
            .await
            .expect("checking template");
            if !exists.found {
                let building = format!("{name}_building");
                // A process that died mid-build leaves a half-migrated copy behind.
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                    .await
                    .expect("dropping a stale template");
                admin
                    .batch_execute(&format!("CREATE DATABASE {building} OWNER {OWNER_ROLE}"))
                    .await
                    .expect("creating template");
                let owner_url = server.database_as(OWNER_ROLE, &building);
                oblique::db::migrate::run_pending(&owner_url)
                    .await
                    .expect("migrating template");
                let mut owner = AsyncPgConnection::establish(&owner_url)
                    .await
                    .expect("connecting as the owner");
                oblique::db::roles::grant_runtime_privileges(&mut owner, RUNTIME_ROLE)
                    .await
                    .expect("granting the runtime role");
                drop(owner);
                admin
                    .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .await
                    .expect("renaming template");
            }
            admin
                .batch_execute("SELECT pg_advisory_unlock(4242001)")
                .await
                .expect("unlock");
            name
        })
        .await
}

fn migrations_hash() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).unwrap_or_default());
    }
    hex::encode(&hasher.finalize()[..8])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
