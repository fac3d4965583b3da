//! One error type for the service, mapped to a few gRPC codes in one place.

pub mod database;

use tonic::{Code, Status};

pub use database::{DatabaseError, DbFailure};

/// What can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The caller sent something wrong; `field` names it (e.g. `config.host`, `page_token`).
    #[error("{field}: {message}")]
    InvalidArgument { field: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// A remote system (or another part of the service) cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    /// The database failed, classified where it happened: UNAVAILABLE, ALREADY_EXISTS for a
    /// caller's duplicate, ABORTED for a conflict retries did not resolve, INTERNAL otherwise.
    #[error(transparent)]
    Database(DatabaseError),
    /// Anything unexpected: logged in full, answered with a fixed text.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    /// PostgreSQL aborted the transaction to break a deadlock or a serialization conflict: it
    /// changed nothing, and running it again is safe and usually succeeds.
    pub fn is_transaction_conflict(&self) -> bool {
        matches!(self, AppError::Database(error) if error.failure() == DbFailure::Conflict)
    }

    /// Whether a unique violation on `constraint` is what happened.
    pub fn is_unique_violation_on(&self, constraint: &str) -> bool {
        matches!(self, AppError::Database(error) if error.is_unique_violation_on(constraint))
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => AppError::NotFound("object".into()),
            other => AppError::Database(other.into()),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::Database(error.into())
    }
}

/// The only text an unexpected error sends: details stay in the logs.
pub const INTERNAL_MESSAGE: &str = "internal error";

impl From<AppError> for Status {
    fn from(error: AppError) -> Self {
        let code = match &error {
            AppError::InvalidArgument { .. } => Code::InvalidArgument,
            AppError::NotFound(_) => Code::NotFound,
            AppError::AlreadyExists(_) => Code::AlreadyExists,
            AppError::FailedPrecondition(_) => Code::FailedPrecondition,
            AppError::Unauthenticated(_) => Code::Unauthenticated,
            AppError::PermissionDenied(_) => Code::PermissionDenied,
            AppError::Unavailable(_) => Code::Unavailable,
            AppError::Database(error) => return database_status(error),
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                return Status::internal(INTERNAL_MESSAGE);
            }
        };
        Status::new(code, error.to_string())
    }
}

/// The one place a database failure becomes a status; its cause goes to the log only.
fn database_status(error: &DatabaseError) -> Status {
    let (code, message) = error.reply();
    match code {
        Code::Internal => tracing::error!(error = %error, "internal database error"),
        _ => tracing::warn!(error = %error, "database failure"),
    }
    Status::new(code, message)
}

#[cfg(test)]
mod tests {
    use diesel::result::DatabaseErrorKind;

    use super::*;

    #[test]
    fn each_error_maps_to_its_code() {
        let cases = [
            (
                AppError::invalid("name", "must not be empty"),
                Code::InvalidArgument,
            ),
            (AppError::not_found("integration"), Code::NotFound),
            (AppError::AlreadyExists("dup".into()), Code::AlreadyExists),
            (
                AppError::FailedPrecondition("no".into()),
                Code::FailedPrecondition,
            ),
            (
                AppError::Unauthenticated("no".into()),
                Code::Unauthenticated,
            ),
            (
                AppError::PermissionDenied("no".into()),
                Code::PermissionDenied,
            ),
            (AppError::Unavailable("down".into()), Code::Unavailable),
        ];
        for (error, code) in cases {
            assert_eq!(Status::from(error).code(), code);
        }
    }

    #[test]
    fn invalid_argument_names_the_field() {
        let status = Status::from(AppError::invalid("config.host", "is required"));
        assert_eq!(status.message(), "config.host: is required");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let cause = anyhow::anyhow!("duplicate key value violates unique constraint \"secret\"");
        let status = Status::from(AppError::Internal(cause));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), INTERNAL_MESSAGE);
    }

    #[test]
    fn database_failures_map_to_their_codes() {
        use database::tests::query_error;
        let cases = [
            (diesel::result::Error::NotFound, Code::NotFound),
            (
                query_error(DatabaseErrorKind::ClosedConnection, "closed", None),
                Code::Unavailable,
            ),
            (
                query_error(DatabaseErrorKind::UnableToSendCommand, "broken pipe", None),
                Code::Unavailable,
            ),
            (
                query_error(
                    DatabaseErrorKind::Unknown,
                    "terminating connection due to administrator command",
                    None,
                ),
                Code::Unavailable,
            ),
            (
                query_error(DatabaseErrorKind::SerializationFailure, "serialize", None),
                Code::Aborted,
            ),
            (
                query_error(
                    DatabaseErrorKind::UniqueViolation,
                    "dup",
                    Some("integrations_active_name"),
                ),
                Code::AlreadyExists,
            ),
            (
                query_error(
                    DatabaseErrorKind::UniqueViolation,
                    "duplicate key value violates unique constraint \"accounts_pkey\"",
                    Some("accounts_pkey"),
                ),
                Code::Internal,
            ),
        ];
        for (error, code) in cases {
            let status = Status::from(AppError::from(error));
            assert_eq!(status.code(), code);
            assert!(!status.message().contains("accounts_pkey"));
        }
    }
}
