//! The remote is cut mid-listing: a TCP proxy between the service and the remote (slapd, or a
//! PostgreSQL over TLS) closes the connection once the remote has sent part of its pages. The run fails with a clear error
//! and applies nothing; with the network whole again, the next run brings everything.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oblique::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::calls::{sync_again, synced, wait_idle};
use crate::harness::remote::{RemoteRoles, remote_postgres};
use crate::harness::slapd::Directory;
use crate::harness::{TestApp, get_integration};

/// Forwards every connection to `upstream`, and closes one once the upstream has sent it more
/// than `budget` bytes (`u64::MAX`: never).
struct CuttingProxy {
    address: String,
    budget: Arc<AtomicU64>,
}

impl CuttingProxy {
    async fn start(upstream: String) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let budget = Arc::new(AtomicU64::new(u64::MAX));
        let shared = budget.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let budget = shared.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        forward(client, server, budget).await;
                    }
                });
            }
        });
        CuttingProxy { address, budget }
    }

    fn cut_after(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::SeqCst);
    }
}

/// Client bytes go up as they come; server bytes come down until the budget is spent, and then
/// both sockets are dropped, as a broken network would leave them.
async fn forward(client: TcpStream, server: TcpStream, budget: u64) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let mut sent: u64 = 0;
    let mut buffer = vec![0u8; 4096];
    while let Ok(read) = server_read.read(&mut buffer).await {
        if read == 0 {
            break;
        }
        let allowed = usize::try_from(budget.saturating_sub(sent)).unwrap_or(usize::MAX);
        let passing = read.min(allowed);
        if client_write.write_all(&buffer[..passing]).await.is_err() {
            break;
        }
        sent += passing as u64;
        if passing < read {
            break;
        }
    }
    up.abort();
}

#[tokio::test]
async fn a_listing_cut_mid_way_fails_the_run_applies_nothing_and_the_next_run_brings_all() {
    let app = TestApp::spawn().await;
    let directory = Directory::new().await;
    directory.add_users("cut", 300).await;
    let upstream = directory.config(&[])["url"]
        .trim_start_matches("ldap://")
        .to_string();
    let proxy = CuttingProxy::start(upstream).await;
    let mut request = directory.create_request("cut");
    request
        .config
        .insert("url".into(), format!("ldap://{}", proxy.address));
    request.config.insert("page_size".into(), "50".into());
    let (integration, first) = synced(&app, request).await;
    assert_eq!(first.stats.unwrap().accounts.unwrap().created, 300);

    // New entries the cut run must not half-apply; then the directory's answer is cut after
    // about a page and a half of the 350 users.
    directory.add_users("late", 50).await;
    proxy.cut_after(16 * 1024);
    wait_idle(&app, &integration).await;
    let cut = sync_again(&app, &integration, false, false).await;
    assert_eq!(cut.state(), pb::SyncRunState::Failed, "{cut:?}");
    assert!(
        cut.error.contains("LDAP") && !cut.error.to_lowercase().contains("internal"),
        "a clear error: {}",
        cut.error
    );
    let after_cut = get_integration(&app.viewer, &integration.id).await;
    assert_eq!(
        after_cut.account_count, 300,
        "the cut run applied something"
    );
    let stats = cut.stats.unwrap_or_default().accounts.unwrap_or_default();
    assert_eq!((stats.created, stats.deleted), (0, 0));

    proxy.cut_after(u64::MAX);
    let whole = sync_again(&app, &integration, false, false).await;
    assert_eq!(whole.state(), pb::SyncRunState::Succeeded, "{whole:?}");
    let accounts = whole.stats.unwrap().accounts.unwrap();
    assert_eq!((accounts.created, accounts.deleted), (50, 0));
}

#[tokio::test]
async fn a_postgres_listing_cut_mid_way_fails_the_run_and_applies_nothing() {
    let app = TestApp::spawn().await;
    let roles = RemoteRoles::new().await;
    // More roles than a page (1,000) so that the cut falls inside the listing.
    roles
        .sql(
            "DO $$ BEGIN FOR i IN 1..2500 LOOP
                 EXECUTE format('CREATE ROLE {p}_r%s LOGIN', i);
             END LOOP; END $$",
        )
        .await;
    let remote = remote_postgres().await;
    let upstream = format!("127.0.0.1:{}", remote.config()["port"]);
    let proxy = CuttingProxy::start(upstream).await;
    let port = proxy.address.rsplit(':').next().unwrap().to_string();
    let mut request = roles.create_request("cut-pg").await;
    request.config.insert("port".into(), port);
    let (integration, first) = synced(&app, request).await;
    let first_accounts = first.stats.unwrap().accounts.unwrap().created;
    assert!(first_accounts >= 2500, "{first_accounts}");

    roles
        .sql(
            "DO $$ BEGIN FOR i IN 1..100 LOOP
                 EXECUTE format('CREATE ROLE {p}_late%s LOGIN', i);
             END LOOP; END $$",
        )
        .await;
    proxy.cut_after(48 * 1024);
    wait_idle(&app, &integration).await;
    let cut = sync_again(&app, &integration, false, false).await;
    assert_eq!(cut.state(), pb::SyncRunState::Failed, "{cut:?}");
    assert!(
        cut.error.contains("PostgreSQL") && !cut.error.to_lowercase().contains("internal"),
        "a clear error: {}",
        cut.error
    );
    let stats = cut.stats.unwrap_or_default().accounts.unwrap_or_default();
    assert_eq!((stats.created, stats.deleted), (0, 0));

    proxy.cut_after(u64::MAX);
    let whole = sync_again(&app, &integration, false, false).await;
    assert_eq!(whole.state(), pb::SyncRunState::Succeeded, "{whole:?}");
    let accounts = whole.stats.unwrap().accounts.unwrap();
    assert_eq!((accounts.created, accounts.deleted), (100, 0));
}
