//! The standard health service reports SERVING only while the database answers.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::db::Pool;

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
        let status = if database_answers(&pool).await {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(status) {
            match status {
                ServingStatus::Serving => tracing::info!("database answers: SERVING"),
                _ => tracing::warn!("database does not answer: NOT_SERVING"),
            }
            for service in SERVICES {
                reporter.set_service_status(*service, status).await;
            }
            last = Some(status);
        }
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}

async fn database_answers(pool: &Pool) -> bool {
    let probe = async {
        let mut conn = pool.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    matches!(
        tokio::time::timeout(CHECK_TIMEOUT, probe).await,
        Ok(Some(_))
    )
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
