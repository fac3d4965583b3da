//! The standard health service reports SERVING only while the database answers and holds every
//! migration this binary needs (a database restored from an older backup under a running
//! process does not): each of Oblique's services, and the server as a whole (""), the same.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::db::{Pool, migrate};

const CHECK_INTERVAL: Duration = Duration::from_secs(2);
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Every service this process serves; each gets the same status as the server as a whole ("").
const SERVICES: &[&str] = &[
    "",
    "oblique.v1.IntegrationService",
    "oblique.v1.SyncService",
    "oblique.v1.UserService",
    "oblique.v1.TeamService",
    "oblique.v1.AccessService",
];

/// Probes the database forever, flipping the reported status when the answer changes.
pub async fn watch_database(pool: Pool, reporter: HealthReporter) {
    let mut last: Option<ServingStatus> = None;
    loop {
        let probe = probe_database(&pool).await;
        let status = match probe {
            Probe::Ready => ServingStatus::Serving,
            Probe::Unreachable | Probe::MigrationsPending(_) => ServingStatus::NotServing,
        };
        if last != Some(status) {
            match probe {
                Probe::Ready => tracing::info!("database answers: SERVING"),
                Probe::Unreachable => tracing::warn!("database does not answer: NOT_SERVING"),
                Probe::MigrationsPending(versions) => tracing::warn!(
                    pending = versions.join(", "),
                    "the database lacks migrations this binary needs (run `oblique migrate`): NOT_SERVING"
                ),
            }
            for service in SERVICES {
                reporter.set_service_status(*service, status).await;
            }
            last = Some(status);
        }
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}

enum Probe {
    Ready,
    Unreachable,
    MigrationsPending(Vec<String>),
}

async fn probe_database(pool: &Pool) -> Probe {
    let probe = async {
        let mut conn = pool.get().await.ok()?;
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .ok()?;
        migrate::pending_versions(&mut conn).await.ok()
    };
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(Some(pending)) if pending.is_empty() => Probe::Ready,
        Ok(Some(pending)) => Probe::MigrationsPending(pending),
        _ => Probe::Unreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    #[test]
    fn every_served_service_gets_a_status() {
        let served = [
            pb::integration_service_server::SERVICE_NAME,
            pb::sync_service_server::SERVICE_NAME,
            pb::user_service_server::SERVICE_NAME,
            pb::team_service_server::SERVICE_NAME,
            pb::access_service_server::SERVICE_NAME,
        ];
        assert_eq!(&SERVICES[1..], &served);
    }
}
