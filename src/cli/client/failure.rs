//! How a client command fails: the server's status code and message, what the command was
//! doing, and the request id to find the call in the server's log, on stderr; a non-zero exit.

use std::fmt;
use std::process::ExitCode;

use tonic::{Code, Status};

/// Exit status of a command that failed (a refused call, bad input, no connection).
pub const FAILED: u8 = 1;
/// Exit status of `--watch` when the run ended FAILED or CANCELLED.
pub const RUN_UNSUCCESSFUL: u8 = 3;

/// A call the server refused or could not answer.
#[derive(Debug)]
pub struct CallFailed {
    pub what: String,
    pub status: Status,
}

impl fmt::Display for CallFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.what,
            code_name(self.status.code()),
            self.status.message()
        )
    }
}

impl std::error::Error for CallFailed {}

/// The answer of a unary call, or the failure saying what was being done.
pub trait Answer<T> {
    fn answer(self, what: &str) -> anyhow::Result<T>;
}

impl<T> Answer<T> for Result<tonic::Response<T>, Status> {
    fn answer(self, what: &str) -> anyhow::Result<T> {
        self.map(tonic::Response::into_inner)
            .map_err(|status| failed(what, status))
    }
}

pub fn failed(what: &str, status: Status) -> anyhow::Error {
    CallFailed {
        what: what.to_string(),
        status,
    }
    .into()
}

/// The status code as the gRPC spec names it (`NOT_FOUND`), as grpcurl and the server's log
/// show it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Prints the failure and its request id on stderr; the exit status of a failed command.
pub fn report(error: &anyhow::Error, request_id: &str) -> ExitCode {
    eprintln!("error: {error:#}");
    eprintln!("request id: {request_id}");
    ExitCode::from(FAILED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_call_reads_with_its_code_name_and_message() {
        let error = failed(
            "getting integration x",
            Status::not_found("integration x not found"),
        );
        assert_eq!(
            format!("{error:#}"),
            "getting integration x: NOT_FOUND: integration x not found"
        );
        assert_eq!(code_name(Code::Unauthenticated), "UNAUTHENTICATED");
    }
}
