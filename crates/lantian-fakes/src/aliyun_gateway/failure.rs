//! Why a request was not let through, as Aliyun's JSON replies carry it.

use axum::http::StatusCode;

/// A refusal: the HTTP status and the reply's `Code` and `Message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Failure {
        Failure { status, code: code.to_owned(), message: message.into() }
    }

    /// A mandatory header or parameter is missing (Aliyun's wording).
    pub(crate) fn missing(code: &str, name: &str) -> Failure {
        Failure::new(
            StatusCode::BAD_REQUEST,
            code,
            format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
        )
    }

    /// A header or parameter has a value the API does not take.
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }

    /// The request signature is malformed or does not cover what it must.
    pub(super) fn incomplete_signature(detail: &str) -> Failure {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards. {detail}"),
        )
    }
}
