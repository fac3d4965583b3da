//! One error type for the service, mapped to a few gRPC codes in one place.

use tonic::{Code, Status};

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
    /// The database or a remote system cannot be reached.
    #[error("{0}")]
    Unavailable(String),
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
        use diesel::result::{DatabaseErrorKind, Error};
        let AppError::Internal(cause) = self else {
            return false;
        };
        match cause.downcast_ref::<Error>() {
            Some(Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) => true,
            Some(Error::DatabaseError(_, info)) => info.message().contains("deadlock detected"),
            _ => false,
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => AppError::NotFound("object".into()),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                AppError::Unavailable("the database is unavailable".into())
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::warn!(error = %error, "database pool error");
        AppError::Unavailable("the database is unavailable".into())
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
            AppError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error");
                return Status::internal(INTERNAL_MESSAGE);
            }
        };
        Status::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
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
    fn diesel_not_found_and_closed_connections() {
        assert_eq!(
            Status::from(AppError::from(diesel::result::Error::NotFound)).code(),
            Code::NotFound
        );
    }
}
