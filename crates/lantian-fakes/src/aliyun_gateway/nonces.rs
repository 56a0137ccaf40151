//! The signature nonces a fake has seen, so that a replayed request is
//! refused the way Aliyun's gateway refuses it.

use std::collections::HashMap;

use axum::http::StatusCode;

use super::{Failure, MAX_SKEW_MS};

/// A request dated further than the allowed skew from the clock is refused
/// anyway, so a nonce only needs remembering for that window on either side.
const NONCE_MEMORY_MS: i64 = 2 * MAX_SKEW_MS;

#[derive(Default)]
pub(crate) struct Nonces {
    /// Nonce to when it was used, by the fake's clock.
    used: HashMap<String, i64>,
}

impl Nonces {
    /// Records `nonce` as used at `now`; refuses it if it already was.
    pub(crate) fn spend(&mut self, nonce: &str, now: i64) -> Result<(), Failure> {
        self.used.retain(|_, used_at| now - *used_at < NONCE_MEMORY_MS);
        if self.used.contains_key(nonce) {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
        self.used.insert(nonce.to_owned(), now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_single_use_within_their_window() {
        let mut nonces = Nonces::default();
        assert!(nonces.spend("a", 0).is_ok());
        assert_eq!(nonces.spend("a", 1000).unwrap_err().code, "SignatureNonceUsed");
        assert!(nonces.spend("b", 1000).is_ok());
        assert!(nonces.spend("a", NONCE_MEMORY_MS - 1).is_err());
        assert!(nonces.spend("a", NONCE_MEMORY_MS).is_ok());
    }
}
