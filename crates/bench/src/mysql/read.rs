//! The read half of the MySQL floor: the rows of the tables the connector reads, each table in
//! one plain query, streamed and decoded as text (the connector decodes its columns as text
//! too).

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

pub const ACCOUNTS_AND_ROLES: &str = "SELECT User, Host, Priv FROM mysql.global_priv";
pub const GRANTS: &str = "SELECT Role, User, Host FROM mysql.roles_mapping";

/// Reads both tables as `user` over TCP; answers how many rows each held.
pub async fn select_all(port: u16, user: &str, password: &str) -> anyhow::Result<(u64, u64)> {
    let options = OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(user))
        .pass(Some(password))
        .prefer_socket(false);
    let mut conn = Conn::new(options).await?;
    let count = |n: u64, _: (String, String, String)| n + 1;
    let accounts = conn.query_fold(ACCOUNTS_AND_ROLES, 0, count).await?;
    let grants = conn.query_fold(GRANTS, 0, count).await?;
    conn.disconnect().await?;
    Ok((accounts, grants))
}
