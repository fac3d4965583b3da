//! The SQL a sync reads accounts, roles and role grants with, for each flavour. Every listing is
//! paged by key (keyset pagination, see `pages.rs`): some of its columns are the key, it
//! compares them with the previous page's last key and returns at most a page. The key is the
//! order of the table's own unique index (Host before User in every grant table), so that each
//! page is a short walk along that index: ordered by anything else, every page sorted the whole
//! table (`oblique-bench --mysql`: 100,000 role grants took 65 times their plain read).
//!
//! The comparison with the last key is spelled out column by column (`a > ? OR (a = ? AND
//! …)`): MariaDB does not turn a row comparison `(a, b) > (?, ?)` into an index range, so each
//! page scanned the index from its start (100 pages of grants: 10 s instead of 1).
//!
//! Parameters, in order: the user pattern twice (when the listing filters accounts by it),
//! the previous key's columns as the spelled-out comparison binds them (each but the last
//! twice: see `pages::key_params`), the page size. Left out everywhere: anonymous accounts, root and
//! the servers' own system accounts, the account Oblique connects as (revoking its own grants
//! would lock Oblique out), and accounts whose name does not match `user_pattern` (bound, never
//! spliced into the SQL).

use super::flavour::Flavour;

/// One listing's SQL for each flavour and the shape of its parameters.
pub(super) struct Listing {
    pub mariadb: &'static str,
    pub mysql: &'static str,
    /// The columns (by position) that make the key, in the order the SQL pages by.
    pub mariadb_key: &'static [usize],
    pub mysql_key: &'static [usize],
    /// Whether the user pattern is bound (twice) before the key.
    pub uses_pattern: bool,
}

impl Listing {
    pub fn sql(&self, flavour: Flavour) -> &'static str {
        match flavour {
            Flavour::MariaDb => self.mariadb,
            Flavour::Mysql => self.mysql,
        }
    }

    pub fn key(&self, flavour: Flavour) -> &'static [usize] {
        match flavour {
            Flavour::MariaDb => self.mariadb_key,
            Flavour::Mysql => self.mysql_key,
        }
    }
}

/// Names never listed, whatever the host: the superuser and the servers' own accounts.
macro_rules! system_names {
    () => {
        "('', 'root', 'mysql.sys', 'mariadb.sys', 'mysql.session', 'mysql.infoschema', 'PUBLIC')"
    };
}

/// MariaDB: `u` (a `mysql.global_priv` row) is a listed account.
macro_rules! mariadb_account {
    () => {
        concat!(
            "IFNULL(JSON_VALUE(u.Priv, '$.is_role'), 0) = 0 AND u.User NOT IN ",
            system_names!(),
            " AND BINARY CONCAT(u.User, '@', u.Host) <> BINARY CURRENT_USER()
              AND (? IS NULL OR u.User LIKE ?)"
        )
    };
}

/// MariaDB: `r` (a `mysql.global_priv` row) is a listed role.
macro_rules! mariadb_role {
    () => {
        concat!(
            "IFNULL(JSON_VALUE(r.Priv, '$.is_role'), 0) = 1 AND r.User NOT IN ",
            system_names!()
        )
    };
}

/// MySQL 8: `r` (a `mysql.user` row) is what `CREATE ROLE` makes.
macro_rules! mysql_is_role {
    ($alias:literal) => {
        concat!(
            $alias,
            ".account_locked = 'Y' AND ",
            $alias,
            ".password_expired = 'Y' AND ",
            $alias,
            ".authentication_string = ''"
        )
    };
}

/// MySQL 8: `u` (a `mysql.user` row) is a listed account.
macro_rules! mysql_account {
    () => {
        concat!(
            "NOT (",
            mysql_is_role!("u"),
            ") AND u.User NOT IN ",
            system_names!(),
            " AND BINARY CONCAT(u.User, '@', u.Host) <> BINARY CURRENT_USER()
              AND (? IS NULL OR u.User LIKE ?)"
        )
    };
}

/// MySQL 8: `r` (a `mysql.user` row) is a listed role.
macro_rules! mysql_role {
    () => {
        concat!(mysql_is_role!("r"), " AND r.User NOT IN ", system_names!())
    };
}

/// Accounts: user, host, account_locked, password_expired (0/1), max_connections, default
/// roles (a JSON array, or NULL).
pub(super) const ACCOUNTS: Listing = Listing {
    mariadb: concat!(
        "SELECT u.User, u.Host,
                IFNULL(JSON_VALUE(u.Priv, '$.account_locked'), 0) = 1,
                IFNULL(JSON_VALUE(u.Priv, '$.password_last_changed'), 1) = 0,
                CAST(IFNULL(JSON_VALUE(u.Priv, '$.max_user_connections'), 0) AS SIGNED),
                IF(IFNULL(JSON_VALUE(u.Priv, '$.default_role'), '') = '', NULL,
                   JSON_ARRAY(JSON_VALUE(u.Priv, '$.default_role')))
         FROM mysql.global_priv u
         WHERE ",
        mariadb_account!(),
        " AND (u.Host > ? OR (u.Host = ? AND u.User > ?))
         ORDER BY u.Host, u.User LIMIT ?"
    ),
    mysql: concat!(
        "SELECT u.User, u.Host, u.account_locked = 'Y', u.password_expired = 'Y',
                CAST(u.max_user_connections AS SIGNED),
                (SELECT JSON_ARRAYAGG(d.DEFAULT_ROLE_USER) FROM mysql.default_roles d
                 WHERE d.HOST = u.Host AND d.USER = u.User)
         FROM mysql.user u
         WHERE ",
        mysql_account!(),
        " AND (u.Host > ? OR (u.Host = ? AND u.User > ?))
         ORDER BY u.Host, u.User LIMIT ?"
    ),
    mariadb_key: &[1, 0],
    mysql_key: &[1, 0],
    uses_pattern: true,
};

/// Roles: name, host (empty in MariaDB).
pub(super) const ROLES: Listing = Listing {
    mariadb: concat!(
        "SELECT r.User, r.Host FROM mysql.global_priv r WHERE ",
        mariadb_role!(),
        " AND (r.Host > ? OR (r.Host = ? AND r.User > ?)) ORDER BY r.Host, r.User LIMIT ?"
    ),
    mysql: concat!(
        "SELECT r.User, r.Host FROM mysql.user r WHERE ",
        mysql_role!(),
        " AND (r.Host > ? OR (r.Host = ? AND r.User > ?)) ORDER BY r.Host, r.User LIMIT ?"
    ),
    mariadb_key: &[1, 0],
    mysql_key: &[1, 0],
    uses_pattern: false,
};

/// Role grants to listed accounts: role name, role host, user, host.
///
/// MariaDB's grantee is a role exactly when its host is empty (`CREATE USER 'x'@''` makes
/// `'x'@'%'`), and every `Role` of `roles_mapping` is a role: the listing reads that one table
/// alone. Joined to `global_priv` to tell roles from accounts, each page cost ~70 ms where the
/// plain read of all 100,000 rows costs 150 (`oblique-bench --mysql`). A role no longer in
/// `global_priv` is left to the merge, which ignores (and counts) grants of unlisted roles.
/// MySQL 8 gives roles a host, so there the grantee is told from a role by its `mysql.user` row.
pub(super) const GRANTS: Listing = Listing {
    mariadb: concat!(
        "SELECT m.Role, '', m.User, m.Host
         FROM mysql.roles_mapping m
         WHERE m.Host <> '' AND m.User NOT IN ",
        system_names!(),
        " AND m.Role NOT IN ",
        system_names!(),
        " AND BINARY CONCAT(m.User, '@', m.Host) <> BINARY CURRENT_USER()
          AND (? IS NULL OR m.User LIKE ?)
          AND (m.Host > ? OR (m.Host = ? AND (m.User > ? OR (m.User = ? AND m.Role > ?))))
         ORDER BY m.Host, m.User, m.Role LIMIT ?"
    ),
    mysql: concat!(
        "SELECT e.FROM_USER, e.FROM_HOST, e.TO_USER, e.TO_HOST
         FROM mysql.role_edges e
         JOIN mysql.user r ON r.User = e.FROM_USER AND r.Host = e.FROM_HOST
         JOIN mysql.user u ON u.User = e.TO_USER AND u.Host = e.TO_HOST
         WHERE ",
        mysql_account!(),
        " AND ",
        mysql_role!(),
        " AND (e.FROM_HOST > ? OR (e.FROM_HOST = ? AND (e.FROM_USER > ? OR (e.FROM_USER = ?
              AND (e.TO_HOST > ? OR (e.TO_HOST = ? AND e.TO_USER > ?))))))
         ORDER BY e.FROM_HOST, e.FROM_USER, e.TO_HOST, e.TO_USER LIMIT ?"
    ),
    // roles_mapping's unique key is (Host, User, Role); role_edges' primary key is
    // (FROM_HOST, FROM_USER, TO_HOST, TO_USER).
    mariadb_key: &[3, 2, 0],
    mysql_key: &[1, 0, 3, 2],
    uses_pattern: true,
};

/// Whether an account holds a role: role name, role host, user, host.
pub(super) fn holds_role(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::MariaDb => {
            "SELECT COUNT(*) FROM mysql.roles_mapping
             WHERE Role = ? AND '' = ? AND User = ? AND Host = ?"
        }
        Flavour::Mysql => {
            "SELECT COUNT(*) FROM mysql.role_edges
             WHERE FROM_USER = ? AND FROM_HOST = ? AND TO_USER = ? AND TO_HOST = ?"
        }
    }
}

/// The host `CREATE ROLE name` gives a role.
pub(super) fn new_role_host(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::MariaDb => "",
        Flavour::Mysql => "%",
    }
}
