//! `oblique-bench --scim`: the `scim` connector's initial sync through the real engine against
//! the testkit's throwaway `scim2-server` (a real SCIM 2.0 implementation, in memory), next to
//! the least that reading and writing the same data costs: a paged GET loop over /Users and
//! /Groups with the same page size, each body parsed as JSON, and a raw binary COPY of the rows
//! the sync landed (the round is [`crate::connector_mode`]'s).
//!
//! Seeding (untimed) is in [`seed`], the plain read in [`read`].

mod read;
mod seed;

use oblique::connectors::IntegrationKind;
use oblique_testkit::scim::ScimServer;

use crate::connector_mode::{BenchSetup, ModeNames, SeededServer};
use crate::directory_sizes::DirectorySizes;

pub const NAMES: ModeNames = ModeNames {
    kind: IntegrationKind::Scim,
    prefix: "scim",
    groups: "groups",
    memberships: "memberships",
    seed_metric: "scim_seed_s",
    read_metric: "scim_read_s",
    attributes_per_user: seed::USER_ATTRIBUTES,
};

/// Resources per listing request (`count`), for the connector and the plain read alike: the
/// connector's default.
pub const PAGE_SIZE: u32 = 100;

const TOKEN: &str = "oblique-bench-scim-Token-5c1e";

/// scim2-server holding the generated users and groups.
pub struct ScimBenchServer {
    server: ScimServer,
    sizes: DirectorySizes,
}

/// Starts scim2-server and seeds it (through /Bulk when the server offers it).
pub async fn start(sizes: DirectorySizes) -> anyhow::Result<ScimBenchServer> {
    eprintln!("oblique-bench: scim: starting scim2-server");
    let server = tokio::task::spawn_blocking(|| ScimServer::start(TOKEN)).await??;
    eprintln!("oblique-bench: scim: seeding");
    seed::seed(&server.admin(), &sizes).await?;
    Ok(ScimBenchServer { server, sizes })
}

#[async_trait::async_trait]
impl SeededServer for ScimBenchServer {
    fn names(&self) -> &'static ModeNames {
        &NAMES
    }

    fn setup(&self) -> BenchSetup {
        let config = vec![
            ("base_url", self.server.base_url()),
            // A throwaway server on 127.0.0.1: nothing crosses a network.
            ("allow_plaintext", "true".into()),
            ("auth", "bearer".into()),
            ("page_size", PAGE_SIZE.to_string()),
            ("timeout", "600".into()),
        ];
        BenchSetup {
            config,
            credentials: vec![("bearer_token", TOKEN.into())],
        }
    }

    async fn plain_read(&self) -> anyhow::Result<()> {
        let read = read::read_all(&self.server.admin()).await?;
        let s = &self.sizes;
        anyhow::ensure!(
            read == (s.users, s.groups, s.memberships),
            "the plain read got (users, groups, members) {read:?}, not the seeded {s:?}"
        );
        Ok(())
    }

    fn describe_read(&self) -> String {
        format!(
            "GET /Users?excludedAttributes=groups, then /Groups (members included), by \
             startIndex/count pages of {PAGE_SIZE}, each body parsed into a serde_json::Value, on \
             one kept-alive connection; the connector reads /Groups twice (without members, then \
             only members)"
        )
    }
}
