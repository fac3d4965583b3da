//! The connection pool every request borrows from.

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::{
    AsyncPgConnection, SimpleAsyncConnection,
    pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, deadpool},
};
use futures::FutureExt;

pub type Pool = deadpool::Pool<AsyncPgConnection>;

/// A request that cannot get a connection within this time fails UNAVAILABLE instead of hanging.
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// A pooled connection is checked (`SELECT 1`) before it is handed out; one that does not answer
/// within this time is half-open (its server or the network vanished without closing it) and is
/// dropped for a new one, instead of hanging the request that got it.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(3);

/// Timeouts every pooled (request) connection's session gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimeouts {
    /// Bounds any single statement, so a stuck query cannot hold a connection forever.
    pub statement: Duration,
    /// Bounds waiting for a row or table lock: a request queued behind a long lock fails
    /// (and may be retried) instead of using up its statement time.
    pub lock: Duration,
}

impl Default for SessionTimeouts {
    /// Generous: the slowest request statements take well under a second.
    fn default() -> Self {
        SessionTimeouts {
            statement: Duration::from_secs(30),
            lock: Duration::from_secs(10),
        }
    }
}

impl SessionTimeouts {
    /// The SET statements that give a session these timeouts (0 would mean none: at least 1 ms).
    pub fn set_statements(&self) -> String {
        let millis = |d: Duration| d.as_millis().max(1);
        format!(
            "SET statement_timeout = {}; SET lock_timeout = {}",
            millis(self.statement),
            millis(self.lock)
        )
    }
}

/// A pool whose sessions get the default timeouts.
pub fn connect_pool(database_url: &str, max_size: usize) -> anyhow::Result<Pool> {
    connect_pool_with(database_url, max_size, SessionTimeouts::default())
}

pub fn connect_pool_with(
    database_url: &str,
    max_size: usize,
    timeouts: SessionTimeouts,
) -> anyhow::Result<Pool> {
    let mut config = ManagerConfig::default();
    config.custom_setup =
        Box::new(move |url| establish_with_session_settings(url.to_string(), timeouts).boxed());
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(WAIT_TIMEOUT))
        .recycle_timeout(Some(RECYCLE_TIMEOUT))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()?)
}

async fn establish_with_session_settings(
    url: String,
    timeouts: SessionTimeouts,
) -> diesel::ConnectionResult<AsyncPgConnection> {
    let mut conn = super::connect::establish(&url).await?;
    conn.batch_execute(&format!(
        "SET application_name = 'oblique'; {}",
        timeouts.set_statements()
    ))
    .await
    .map_err(|error| ConnectionError::BadConnection(error.to_string()))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_get_both_timeouts_in_milliseconds() {
        assert_eq!(
            SessionTimeouts::default().set_statements(),
            "SET statement_timeout = 30000; SET lock_timeout = 10000"
        );
        let none = SessionTimeouts {
            statement: Duration::ZERO,
            lock: Duration::from_millis(250),
        };
        assert_eq!(
            none.set_statements(),
            "SET statement_timeout = 1; SET lock_timeout = 250"
        );
    }
}
