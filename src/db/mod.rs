//! Persistence: the pool, migrations, the embedded PostgreSQL launcher and the queries.
//! Query functions take `&mut AsyncPgConnection` and know nothing of gRPC.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod connect;
pub mod credentials_key;
pub mod embedded;
pub mod figures;
pub mod grants;
pub mod integrations;
pub mod intents;
pub mod migrate;
pub mod models;
pub mod pool;
pub mod propagations;
pub mod resources;
pub mod retry;
pub mod roles;
pub mod run_changes;
pub mod run_events;
pub mod runs;
pub mod schema;
pub mod sync_errors;
pub mod teams;
pub mod tls;
pub mod tokens;
pub mod users;

pub use diesel_async::AsyncPgConnection;
pub use pool::{Pool, SessionTimeouts, connect_pool, connect_pool_with};
