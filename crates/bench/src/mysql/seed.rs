//! Seeding MariaDB with the generated directory, fast and untimed. `CREATE USER` and `GRANT`
//! each rewrite the server's in-memory privilege cache, so 120,000 of them would take minutes;
//! instead one account and one role are made the ordinary way, and their `Priv` JSON is the
//! template for multi-row INSERTs of the rest into `mysql.global_priv`, and of the grants into
//! `mysql.roles_mapping`; `FLUSH PRIVILEGES` then loads the tables as the server's own. This is
//! what MariaDB keeps for `CREATE USER 'userN'@'%'`, `CREATE ROLE roleN` and `GRANT roleN TO
//! 'userN'@'%'` (MariaDB 10.4+; MySQL 8 keeps roles elsewhere and is not benchmarked).
//!
//! User `i` is `'user{i}'@'%'`, role `g` is `role{g}`, and role `g` is granted to the users
//! [`DirectorySizes::members`] gives group `g`.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Value};

use crate::directory_sizes::DirectorySizes;

/// Attribute rows the connector lands per seeded account: host, account_locked,
/// password_expired, max_connections (no default role is set).
pub const USER_ATTRIBUTES: u64 = 4;

/// Rows per INSERT (three parameters each, far below the 65,535 placeholders allowed).
const ROWS_PER_INSERT: usize = 2000;

/// Seeds the server over `root`'s connection, and creates `user` (password `password`) able to
/// read what the connector reads.
pub async fn seed(
    root: &mut Conn,
    sizes: &DirectorySizes,
    user: &str,
    password: &str,
) -> anyhow::Result<()> {
    // CREATE ROLE makes its creator (root) the role's admin: not part of the generated
    // directory, so that row goes.
    root.query_drop(format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}';
         GRANT SELECT ON mysql.global_priv TO '{user}'@'%';
         GRANT SELECT ON mysql.roles_mapping TO '{user}'@'%';
         CREATE USER 'user0'@'%';
         CREATE ROLE role0;
         DELETE FROM mysql.roles_mapping WHERE User = 'root'"
    ))
    .await?;
    let user_priv: String = root
        .exec_first(
            "SELECT Priv FROM mysql.global_priv WHERE User = 'user0' AND Host = '%'",
            (),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("CREATE USER 'user0'@'%' left no global_priv row"))?;
    let role_priv: String = root
        .exec_first(
            "SELECT Priv FROM mysql.global_priv WHERE User = 'role0' AND Host = ''",
            (),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("CREATE ROLE role0 left no global_priv row"))?;

    let users = (1..sizes.users).map(|i| row("%", format!("user{i}"), &user_priv));
    insert_rows(root, "mysql.global_priv (Host, User, Priv)", users).await?;
    let roles = (1..sizes.groups).map(|g| row("", format!("role{g}"), &role_priv));
    insert_rows(root, "mysql.global_priv (Host, User, Priv)", roles).await?;
    let grants = (0..sizes.groups).flat_map(|g| {
        sizes
            .members(g)
            .map(move |u| row("%", format!("user{u}"), &format!("role{g}")))
    });
    insert_rows(root, "mysql.roles_mapping (Host, User, Role)", grants).await?;
    root.query_drop("FLUSH PRIVILEGES").await?;
    Ok(())
}

fn row(host: &str, user: String, third: &str) -> [Value; 3] {
    [Value::from(host), Value::from(user), Value::from(third)]
}

/// Multi-row INSERTs of `rows` into `target` (a table and its three columns).
async fn insert_rows(
    root: &mut Conn,
    target: &str,
    rows: impl Iterator<Item = [Value; 3]>,
) -> anyhow::Result<()> {
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let batch: Vec<Value> = rows.by_ref().take(ROWS_PER_INSERT).flatten().collect();
        let placeholders = vec!["(?, ?, ?)"; batch.len() / 3].join(", ");
        let sql = format!("INSERT INTO {target} VALUES {placeholders}");
        root.exec_drop(sql, Params::Positional(batch)).await?;
    }
    Ok(())
}
