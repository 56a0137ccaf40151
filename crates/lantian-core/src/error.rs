//! The one error type of the domain. The web layer maps it once to a page or problem JSON.

use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// The request collides with the current state (already paid, already exists ...).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Bad input: `field` names the input, `code` is a stable message key for translation.
    #[error("invalid {field}: {code}")]
    Validation { field: &'static str, code: &'static str },
    #[error("rate limited, retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// An outside system failed or answered something we cannot use.
    #[error("upstream failure: {0}")]
    Upstream(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn validation(field: &'static str, code: &'static str) -> Self {
        Error::Validation { field, code }
    }
}

/// A sealed value that does not open (unknown key, tampered, malformed) is our fault, never
/// the user's; the message names no value.
impl From<crate::crypto::CryptoError> for Error {
    fn from(e: crate::crypto::CryptoError) -> Self {
        Error::Internal(anyhow::anyhow!("a sealed value does not open: {e}"))
    }
}
