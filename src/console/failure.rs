//! A use case's error as the console shows it: the same text the gRPC API would send (internal
//! and database details stay in the logs; `Status::from` is the one place that decides), with
//! the HTTP status that matches its code.

use axum::response::Response;
use http::StatusCode;
use tonic::Code;

use super::page;
use super::session::Signed;
use crate::error::AppError;

/// The HTTP status and the caller-safe message of `error`.
pub fn describe(error: AppError) -> (StatusCode, String) {
    let status = tonic::Status::from(error);
    let code = match status.code() {
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (code, status.message().to_string())
}

/// A page that says what went wrong.
pub fn page(error: AppError, signed: Option<&Signed>) -> Response {
    let (status, message) = describe(error);
    let title = status.canonical_reason().unwrap_or("Error");
    page::message(status, title, &message, signed)
}

/// What a viewer (or a service token) gets for a change only an admin may make.
pub fn admin_only(signed: &Signed) -> Response {
    page(
        AppError::PermissionDenied(format!(
            "this needs the admin role; token {:?} has {}",
            signed.principal.name, signed.principal.role
        )),
        Some(signed),
    )
}

/// Where a form field's error goes: the input named after the setup or credential field
/// (`config.host` → `host`, `credentials.password` → `password`), or the form's own field.
pub fn form_field(error: &AppError) -> Option<(String, String)> {
    let AppError::InvalidArgument { field, message } = error else {
        return None;
    };
    let input = field
        .strip_prefix("config.")
        .or_else(|| field.strip_prefix("credentials."))
        .or_else(|| field.strip_prefix("integration."))
        .unwrap_or(field);
    Some((input.to_string(), message.clone()))
}

/// A refused form: its HTTP status, and its message either next to the input it names or
/// above the form.
pub struct Refusal {
    pub status: StatusCode,
    field: Option<(String, String)>,
    message: String,
}

impl Refusal {
    pub fn of(error: AppError) -> Self {
        let field = form_field(&error);
        let (status, message) = describe(error);
        Refusal {
            status,
            field,
            message,
        }
    }

    /// The input the message belongs next to, and the message.
    pub fn field(&self) -> Option<(&str, &str)> {
        self.field
            .as_ref()
            .map(|(field, message)| (field.as_str(), message.as_str()))
    }

    /// The whole message when it names none of the form's `inputs`: shown above the form.
    pub fn general(&self, inputs: &[&str]) -> Option<&str> {
        match &self.field {
            Some((field, _)) if inputs.contains(&field.as_str()) => None,
            _ => Some(self.message.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_go_next_to_their_input() {
        let error = AppError::invalid("credentials.password", "authentication failed");
        assert_eq!(
            form_field(&error),
            Some(("password".into(), "authentication failed".into()))
        );
        assert_eq!(form_field(&AppError::not_found("x")), None);
    }

    #[test]
    fn internal_errors_show_no_cause() {
        let (status, message) = describe(AppError::Internal(anyhow::anyhow!("secret detail")));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!message.contains("secret"));
    }
}
