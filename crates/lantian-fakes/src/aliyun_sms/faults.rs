//! Switches that make the SMS fake misbehave, for testing retry paths.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Fault switches of the SMS fake, settable at any time through `&self`.
///
/// A SendSms request first waits out the delay, then meets a pending drop,
/// then a pending 503, then a pending 500; those hit every request, valid or
/// not. A pending business failure only hits a request that passed every
/// check, just before limit control.
#[derive(Debug, Default)]
pub struct SmsFaults {
    fail_remaining: AtomicU32,
    fail_code: Mutex<String>,
    server_error_remaining: AtomicU32,
    unavailable_remaining: AtomicU32,
    drop_remaining: AtomicU32,
    delay_ms: AtomicU64,
}

/// Used when `fail_next` is given a code that would not be a failure.
const FALLBACK_FAIL_CODE: &str = "isp.SYSTEM_ERROR";

impl SmsFaults {
    /// Answers the next `n` valid requests with HTTP 200 and the business
    /// error `code` (such as `isv.BUSINESS_LIMIT_CONTROL` or
    /// `isv.AMOUNT_NOT_ENOUGH`); nothing is recorded. An empty code or `OK`
    /// becomes `isp.SYSTEM_ERROR`.
    pub fn fail_next(&self, n: u32, code: &str) {
        let code = if code.is_empty() || code == "OK" { FALLBACK_FAIL_CODE } else { code };
        *self.fail_code.lock().unwrap_or_else(PoisonError::into_inner) = code.to_owned();
        self.fail_remaining.store(n, Ordering::SeqCst);
    }

    /// Answers the next `n` requests with HTTP 500 `InternalError`.
    pub fn server_error_next(&self, n: u32) {
        self.server_error_remaining.store(n, Ordering::SeqCst);
    }

    /// Answers the next `n` requests with HTTP 503 `ServiceUnavailable`.
    pub fn unavailable_next(&self, n: u32) {
        self.unavailable_remaining.store(n, Ordering::SeqCst);
    }

    /// Reads the next `n` requests and closes their connections without any
    /// response, as a crashed server or broken network would.
    pub fn drop_next(&self, n: u32) {
        self.drop_remaining.store(n, Ordering::SeqCst);
    }

    /// Delays every SendSms response by `ms` milliseconds; 0 turns it off.
    pub fn set_delay_ms(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Turns every fault off.
    pub fn reset(&self) {
        self.fail_remaining.store(0, Ordering::SeqCst);
        self.server_error_remaining.store(0, Ordering::SeqCst);
        self.unavailable_remaining.store(0, Ordering::SeqCst);
        self.drop_remaining.store(0, Ordering::SeqCst);
        self.delay_ms.store(0, Ordering::SeqCst);
    }

    /// Consumes one pending business failure, returning its code.
    pub(super) fn take_failure(&self) -> Option<String> {
        take_one(&self.fail_remaining).then(|| self.fail_code.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }

    pub(super) fn take_server_error(&self) -> bool {
        take_one(&self.server_error_remaining)
    }

    pub(super) fn take_unavailable(&self) -> bool {
        take_one(&self.unavailable_remaining)
    }

    pub(super) fn take_drop(&self) -> bool {
        take_one(&self.drop_remaining)
    }

    pub(super) fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(Ordering::SeqCst))
    }
}

/// Decrements `counter` if positive; true when a unit was taken. Atomic so
/// two concurrent requests never both take the last one.
fn take_one(counter: &AtomicU32) -> bool {
    counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_resets() {
        let faults = SmsFaults::default();
        faults.fail_next(2, "isv.AMOUNT_NOT_ENOUGH");
        assert_eq!(faults.take_failure().as_deref(), Some("isv.AMOUNT_NOT_ENOUGH"));
        assert_eq!(faults.take_failure().as_deref(), Some("isv.AMOUNT_NOT_ENOUGH"));
        assert_eq!(faults.take_failure(), None);
        faults.fail_next(1, "OK");
        assert_eq!(faults.take_failure().as_deref(), Some(FALLBACK_FAIL_CODE));

        faults.server_error_next(1);
        faults.unavailable_next(1);
        faults.drop_next(1);
        faults.fail_next(1, "isv.X");
        faults.set_delay_ms(7);
        assert_eq!(faults.delay(), Duration::from_millis(7));
        assert!(faults.take_server_error() && !faults.take_server_error());
        faults.reset();
        assert!(!faults.take_unavailable() && !faults.take_drop() && faults.take_failure().is_none());
        assert_eq!(faults.delay(), Duration::ZERO);
    }
}
