//! Mapping the domain's errors to responses, once: a page in the user's language for the
//! site, RFC 9457 problem JSON for the API (both drawn by `middleware::errors`).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use lantian_core::Error;

/// A handler's error. The response carries only the status (and, for validation, the field
/// and message key); the error-page middleware draws the body in the client's language.
pub struct WebError(pub Error);

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        WebError(e)
    }
}

/// The detail of a refused input, for the error page or problem document.
#[derive(Debug, Clone)]
pub struct FieldProblem {
    pub field: &'static str,
    pub code: &'static str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Upstream(_) => StatusCode::BAD_GATEWAY,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            // Logged here once, with the cause; the client sees only the request id.
            tracing::error!(error = %self.0, "request failed");
        }
        let mut res = status.into_response();
        match self.0 {
            Error::Validation { field, code } => {
                res.extensions_mut().insert(FieldProblem { field, code });
            }
            Error::RateLimited { retry_after } => {
                if let Ok(v) = http::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                    res.headers_mut().insert(http::header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        res
    }
}
