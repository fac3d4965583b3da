//! A database failure, classified once where it happens: what it means to a caller decides its
//! gRPC code, and whether running the transaction again may help. Callers ask the classification
//! (`is_unique_violation_on`, `is_conflict`) instead of digging in the driver's error.

use std::fmt;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError as ManagerError;
use diesel_async::pooled_connection::deadpool::PoolError;
use tonic::Code;

/// What a database failure means to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// The database cannot serve the call now: a connection refused, closed or dead, no pooled
    /// connection within the wait timeout, the server shutting down or starting (`57P01` admin
    /// shutdown and its kin), a standby, a statement or lock timeout. A retry later may work.
    Unavailable,
    /// A unique constraint or index refused the row.
    UniqueViolation,
    /// PostgreSQL aborted the transaction to break a deadlock or a serialization conflict: it
    /// changed nothing, and running it again is safe and usually succeeds.
    Conflict,
    /// Anything else: a bug, or a database not in the shape the migrations left it.
    Other,
}

/// A classified database failure, with its cause for the log.
#[derive(Debug)]
pub struct DatabaseError {
    failure: DbFailure,
    /// The constraint a unique violation named.
    constraint: Option<String>,
    cause: Cause,
}

#[derive(Debug)]
enum Cause {
    Query(DieselError),
    Pool(PoolError),
}

/// Unique constraints whose violation is the caller's doing, with what ALREADY_EXISTS says.
/// A violation of any other is a bug, answered INTERNAL.
const CALLER_UNIQUE_CONSTRAINTS: &[(&str, &str)] = &[
    (
        "integrations_active_name",
        "a live integration already has that name",
    ),
    ("teams_name", "a team already has that name"),
    (
        "api_tokens_active_name",
        "an active token already has that name",
    ),
];

/// Messages of the server ending a session or refusing work for now, which diesel reports
/// only as `Unknown` (it keeps no SQLSTATE), so the text is what tells:
/// class 57P (operator intervention: 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
/// connect now, 57P05 idle session timeout), class 08 (connection exceptions the server
/// reports), and the timeouts every session has (57014 statement timeout, 55P03 lock timeout,
/// 25P03 idle in transaction): the database cannot serve this call now, a retry later may work.
/// Connection failures the client notices itself (a dead socket, a closed connection) carry no
/// SQLSTATE and arrive as `UnableToSendCommand`.
const UNAVAILABLE_MESSAGES: &[&str] = &[
    // 57P01
    "terminating connection due to administrator command",
    "terminating connection due to unexpected postmaster exit",
    // 57P02
    "terminating connection because of crash of another server process",
    // 57P03
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    // 57P05, 25P03
    "terminating connection due to idle-session timeout",
    "terminating connection due to idle-in-transaction timeout",
    // 08xxx
    "server closed the connection unexpectedly",
    "connection to server",
    "could not receive data from",
    "could not send data to",
    "unexpected EOF on client connection",
    "invalid frontend message",
    // 57014, 55P03
    "canceling statement due to statement timeout",
    "canceling statement due to lock timeout",
];

impl DatabaseError {
    pub fn failure(&self) -> DbFailure {
        self.failure
    }

    /// Whether a unique violation on `constraint` is what happened.
    pub fn is_unique_violation_on(&self, constraint: &str) -> bool {
        self.failure == DbFailure::UniqueViolation && self.constraint.as_deref() == Some(constraint)
    }

    /// What a caller is told: the code, and a fixed text that holds nothing of the driver's.
    /// A conflict reaches a caller only after the retries gave up.
    pub fn reply(&self) -> (Code, &'static str) {
        match self.failure {
            DbFailure::Unavailable => (Code::Unavailable, "the database is unavailable"),
            DbFailure::Conflict => (
                Code::Aborted,
                "the change conflicted with concurrent changes; retry",
            ),
            DbFailure::UniqueViolation | DbFailure::Other => match self.caller_duplicate() {
                Some(message) => (Code::AlreadyExists, message),
                None => (Code::Internal, super::INTERNAL_MESSAGE),
            },
        }
    }

    /// ALREADY_EXISTS's text when the violated constraint is one a caller can run into.
    fn caller_duplicate(&self) -> Option<&'static str> {
        let constraint = self.constraint.as_deref()?;
        CALLER_UNIQUE_CONSTRAINTS
            .iter()
            .find(|(name, _)| *name == constraint)
            .map(|(_, message)| *message)
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Cause::Query(error) => write!(f, "database ({:?}): {error}", self.failure),
            Cause::Pool(error) => write!(f, "database pool ({:?}): {error}", self.failure),
        }
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Query(error) => Some(error),
            Cause::Pool(error) => Some(error),
        }
    }
}

impl From<DieselError> for DatabaseError {
    fn from(error: DieselError) -> Self {
        let (failure, constraint) = match &error {
            DieselError::DatabaseError(kind, info) => {
                classify_query(kind, info.message(), info.constraint_name())
            }
            DieselError::BrokenTransactionManager => (DbFailure::Unavailable, None),
            _ => (DbFailure::Other, None),
        };
        DatabaseError {
            failure,
            constraint,
            cause: Cause::Query(error),
        }
    }
}

fn classify_query(
    kind: &DatabaseErrorKind,
    message: &str,
    constraint: Option<&str>,
) -> (DbFailure, Option<String>) {
    let failure = match kind {
        // A read-only transaction: the server is a standby (a failover under way).
        DatabaseErrorKind::ClosedConnection
        | DatabaseErrorKind::UnableToSendCommand
        | DatabaseErrorKind::ReadOnlyTransaction => DbFailure::Unavailable,
        DatabaseErrorKind::UniqueViolation => {
            return (DbFailure::UniqueViolation, constraint.map(str::to_owned));
        }
        DatabaseErrorKind::SerializationFailure => DbFailure::Conflict,
        _ if message.contains("deadlock detected") => DbFailure::Conflict,
        _ if UNAVAILABLE_MESSAGES.iter().any(|m| message.starts_with(m)) => DbFailure::Unavailable,
        _ => DbFailure::Other,
    };
    (failure, None)
}

impl From<PoolError> for DatabaseError {
    fn from(error: PoolError) -> Self {
        // Failing to get a connection is never a query's fault: whatever the pool met
        // (a timeout, a refused or failed connection, a closed pool), the database is out of
        // reach for this call.
        let failure = match &error {
            PoolError::Timeout(_)
            | PoolError::Closed
            | PoolError::PostCreateHook(_)
            | PoolError::Backend(ManagerError::ConnectionError(_))
            | PoolError::Backend(ManagerError::QueryError(_)) => DbFailure::Unavailable,
            PoolError::NoRuntimeSpecified => DbFailure::Other,
        };
        DatabaseError {
            failure,
            constraint: None,
            cause: Cause::Pool(error),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use diesel::result::DatabaseErrorInformation;

    use super::*;

    /// What PostgreSQL says about a failed statement, as diesel hands it over.
    struct Info {
        message: &'static str,
        constraint: Option<&'static str>,
    }

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.constraint
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    pub(crate) fn query_error(
        kind: DatabaseErrorKind,
        message: &'static str,
        constraint: Option<&'static str>,
    ) -> DieselError {
        DieselError::DatabaseError(
            kind,
            Box::new(Info {
                message,
                constraint,
            }),
        )
    }

    #[test]
    fn classifies_query_failures() {
        let cases = [
            (
                query_error(DatabaseErrorKind::ClosedConnection, "closed", None),
                DbFailure::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::Unknown,
                    "terminating connection due to administrator command",
                    None,
                ),
                DbFailure::Unavailable,
            ),
            (
                query_error(DatabaseErrorKind::UnableToSendCommand, "broken pipe", None),
                DbFailure::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::Unknown,
                    "terminating connection because of crash of another server process",
                    None,
                ),
                DbFailure::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::Unknown,
                    "the database system is not yet accepting connections",
                    None,
                ),
                DbFailure::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::Unknown,
                    "canceling statement due to statement timeout",
                    None,
                ),
                DbFailure::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::Unknown,
                    "canceling statement due to lock timeout",
                    None,
                ),
                DbFailure::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::Unknown,
                    "unexpected EOF on client connection with an open transaction",
                    None,
                ),
                DbFailure::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::ReadOnlyTransaction,
                    "cannot execute INSERT in a read-only transaction",
                    None,
                ),
                DbFailure::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::Unknown,
                    "canceling statement due to user request",
                    None,
                ),
                DbFailure::Other,
            ),
            (
                query_error(
                    DatabaseErrorKind::SerializationFailure,
                    "could not serialize access",
                    None,
                ),
                DbFailure::Conflict,
            ),
            (
                query_error(DatabaseErrorKind::Unknown, "deadlock detected", None),
                DbFailure::Conflict,
            ),
            (
                query_error(DatabaseErrorKind::UniqueViolation, "duplicate", Some("x")),
                DbFailure::UniqueViolation,
            ),
            (
                query_error(DatabaseErrorKind::CheckViolation, "check", Some("y")),
                DbFailure::Other,
            ),
        ];
        for (error, failure) in cases {
            assert_eq!(DatabaseError::from(error).failure(), failure);
        }
    }

    #[test]
    fn a_unique_violation_knows_its_constraint() {
        let error = DatabaseError::from(query_error(
            DatabaseErrorKind::UniqueViolation,
            "duplicate key",
            Some("integrations_active_name"),
        ));
        assert!(error.is_unique_violation_on("integrations_active_name"));
        assert!(!error.is_unique_violation_on("teams_name"));
        assert!(error.caller_duplicate().is_some());
    }

    #[test]
    fn pool_failures_are_unavailable() {
        let timeout = PoolError::Timeout(deadpool::managed::TimeoutType::Wait);
        assert_eq!(
            DatabaseError::from(timeout).failure(),
            DbFailure::Unavailable
        );
        let refused = PoolError::Backend(ManagerError::ConnectionError(
            diesel::ConnectionError::BadConnection("connection refused".into()),
        ));
        assert_eq!(
            DatabaseError::from(refused).failure(),
            DbFailure::Unavailable
        );
    }
}
