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
/// Bounds any single statement, so a stuck query cannot hold a connection forever.
const STATEMENT_TIMEOUT_MS: u32 = 60_000;

pub fn connect_pool(database_url: &str, max_size: usize) -> anyhow::Result<Pool> {
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(|url| establish_with_session_settings(url.to_string()).boxed());
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(WAIT_TIMEOUT))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()?)
}

async fn establish_with_session_settings(
    url: String,
) -> diesel::ConnectionResult<AsyncPgConnection> {
    let mut conn = super::connect::establish(&url).await?;
    conn.batch_execute(&format!(
        "SET application_name = 'oblique'; SET statement_timeout = {STATEMENT_TIMEOUT_MS}"
    ))
    .await
    .map_err(|error| ConnectionError::BadConnection(error.to_string()))?;
    Ok(conn)
}
