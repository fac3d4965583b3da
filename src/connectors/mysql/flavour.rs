//! MariaDB and MySQL 8 keep accounts and role grants in different tables: which server this is,
//! read from `VERSION()`, decides which catalog a sync reads (see `catalog.rs`).

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::connect::answer;
use super::errors::map_error;
use super::settings::MysqlSettings;
use crate::connectors::ConnectorError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavour {
    /// MariaDB 10.4+: accounts and roles in `mysql.global_priv` (a role has `is_role`), role
    /// grants in `mysql.roles_mapping`.
    MariaDb,
    /// MySQL 8: accounts in `mysql.user` (a role is an account `CREATE ROLE` made: locked, its
    /// password expired and empty), role grants in `mysql.role_edges`, default roles in
    /// `mysql.default_roles`.
    Mysql,
}

impl Flavour {
    /// The server's flavour: MariaDB says so in its version string.
    pub async fn detect(conn: &mut Conn, settings: &MysqlSettings) -> Result<Self, ConnectorError> {
        let version: Option<String> = answer(settings, conn.query_first("SELECT VERSION()"))
            .await?
            .map_err(|error| map_error(&error, settings))?;
        Ok(Self::from_version(&version.unwrap_or_default()))
    }

    fn from_version(version: &str) -> Self {
        if version.to_ascii_lowercase().contains("mariadb") {
            Flavour::MariaDb
        } else {
            Flavour::Mysql
        }
    }

    /// The tables a sync reads, which the connecting user needs SELECT on.
    pub fn tables_read(self) -> &'static [&'static str] {
        match self {
            Flavour::MariaDb => &["mysql.global_priv", "mysql.roles_mapping"],
            Flavour::Mysql => &["mysql.user", "mysql.role_edges", "mysql.default_roles"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_mariadb_from_mysql_by_the_version_string() {
        for (version, flavour) in [
            ("10.11.19-MariaDB-0+deb12u1", Flavour::MariaDb),
            ("5.5.5-10.6.12-MariaDB-log", Flavour::MariaDb),
            ("8.0.36", Flavour::Mysql),
            ("8.4.0-commercial", Flavour::Mysql),
        ] {
            assert_eq!(Flavour::from_version(version), flavour, "{version}");
        }
    }
}
