//! The connection pool every request borrows from.

use std::time::Duration;

use ::deadpool::managed::Metrics;
use diesel::ConnectionError;
use diesel_async::{
    AsyncPgConnection, SimpleAsyncConnection,
    pooled_connection::{
        AsyncDieselConnectionManager, ManagerConfig, PoolError, RecyclingMethod,
        deadpool::{self, Hook, HookError},
    },
};
use futures::FutureExt;

pub type Pool = deadpool::Pool<AsyncPgConnection>;

/// A request that cannot get a connection within this time fails UNAVAILABLE instead of hanging.
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// A pooled connection that sat idle is checked (`SELECT 1`) before it is handed out; one that
/// does not answer within this time is half-open (its server or the network vanished without
/// closing it) and is dropped for another, instead of hanging the request that got it.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(3);
/// Only a connection idle for longer than this is checked. One used a moment ago answered a
/// moment ago: checking it would cost every call a round trip (a fifth of `GetIntegration`'s
/// statements, `oblique-bench --rpc`) to learn what is almost always so. A server that closed
/// it since (a restart, a terminated backend) is seen without asking: diesel marks the
/// connection closed and the pool drops it. If instead its peer vanished silently in those
/// seconds, a call on it waits until the TCP keepalives or user timeout end the socket
/// (`db::connect`, about a minute).
pub const IDLE_CHECK_AFTER: Duration = Duration::from_secs(5);

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
    // No round trip on checkout: the manager still drops a connection diesel knows to be
    // closed or left in a broken transaction; `check_if_idle` covers the rest.
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup =
        Box::new(move |url| establish_with_session_settings(url.to_string(), timeouts).boxed());
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(WAIT_TIMEOUT))
        .recycle_timeout(Some(RECYCLE_TIMEOUT))
        .pre_recycle(check_if_idle())
        .runtime(::deadpool::Runtime::Tokio1)
        .build()?)
}

/// `SELECT 1` on a connection idle for longer than `IDLE_CHECK_AFTER`, within `RECYCLE_TIMEOUT`.
/// deadpool drops a connection whose hook fails and takes another from the pool or makes a new
/// one; it bounds only the manager's recycle by `recycle_timeout`, not the hooks, hence the
/// timeout here.
///
/// deadpool records when a connection was last handed out, not when it came back: one held by
/// a long call counts as idle for that time too, so it is checked more often, never less.
fn check_if_idle() -> Hook<AsyncPgConnection> {
    Hook::async_fn(|conn: &mut AsyncPgConnection, metrics: &Metrics| {
        Box::pin(async move {
            if metrics.last_used() <= IDLE_CHECK_AFTER {
                return Ok(());
            }
            match tokio::time::timeout(RECYCLE_TIMEOUT, conn.batch_execute("SELECT 1")).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(HookError::Backend(PoolError::QueryError(error))),
                Err(_) => Err(HookError::message(
                    "an idle pooled connection did not answer SELECT 1 in time",
                )),
            }
        })
    })
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
