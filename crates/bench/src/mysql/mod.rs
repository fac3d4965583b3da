//! `oblique-bench --mysql`: the `mysql` connector's initial sync through the real engine against
//! the testkit's throwaway MariaDB (`mariadbd`), next to the least that reading and writing the
//! same data costs: plain SELECTs of the tables the connector reads (`mysql.global_priv`,
//! `mysql.roles_mapping`) and a raw binary COPY of the rows the sync landed (the round is
//! [`crate::connector_mode`]'s).
//!
//! Users are accounts, roles are the groups and role grants the memberships. Seeding
//! (untimed) is in [`seed`], the plain SELECTs in [`read`].

mod read;
mod seed;

use oblique::connectors::IntegrationKind;
use oblique_testkit::mariadb::MariaDb;

use crate::connector_mode::{BenchSetup, ModeNames, SeededServer};
use crate::directory_sizes::DirectorySizes;

pub const NAMES: ModeNames = ModeNames {
    kind: IntegrationKind::Mysql,
    prefix: "mysql",
    groups: "roles",
    memberships: "grants",
    seed_metric: "mysql_seed_s",
    read_metric: "mysql_select_s",
    attributes_per_user: seed::USER_ATTRIBUTES,
};

/// The account Oblique logs in as: it may read the two tables and nothing else.
const USER: &str = "oblique_bench";
const PASSWORD: &str = "bench-Secret-7d20";

/// mariadbd holding the generated accounts, roles and role grants.
pub struct MysqlBenchServer {
    server: MariaDb,
    sizes: DirectorySizes,
}

/// Starts mariadbd and seeds its privilege tables.
pub async fn start(sizes: DirectorySizes) -> anyhow::Result<MysqlBenchServer> {
    eprintln!("oblique-bench: mysql: starting mariadbd");
    let server = tokio::task::spawn_blocking(|| MariaDb::start(None)).await??;
    eprintln!("oblique-bench: mysql: seeding");
    seed::seed(&mut server.admin().await?, &sizes, USER, PASSWORD).await?;
    Ok(MysqlBenchServer { server, sizes })
}

#[async_trait::async_trait]
impl SeededServer for MysqlBenchServer {
    fn names(&self) -> &'static ModeNames {
        &NAMES
    }

    fn setup(&self) -> BenchSetup {
        let config = vec![
            ("host", "127.0.0.1".into()),
            ("port", self.server.port().to_string()),
            ("username", USER.into()),
            // A throwaway server on 127.0.0.1: nothing crosses a network.
            ("tls", "disabled".into()),
        ];
        BenchSetup {
            config,
            credentials: vec![("password", PASSWORD.into())],
        }
    }

    async fn plain_read(&self) -> anyhow::Result<()> {
        let read = read::select_all(self.server.port(), USER, PASSWORD).await?;
        let s = &self.sizes;
        // Besides the seeded ones: the system accounts, root and Oblique's own.
        anyhow::ensure!(
            read.0 >= s.users + s.groups && read.1 == s.memberships,
            "the plain read got (global_priv, roles_mapping) rows {read:?}; seeded {s:?}"
        );
        Ok(())
    }

    fn describe_read(&self) -> String {
        format!(
            "{}, then {}, each one query streamed over one TCP connection as the connector's \
             user (no TLS), every column decoded as text; the connector reads keyset pages of \
             5000, each a range of its table's index, the accounts' fields out of the Priv JSON",
            read::ACCOUNTS_AND_ROLES,
            read::GRANTS
        )
    }
}
