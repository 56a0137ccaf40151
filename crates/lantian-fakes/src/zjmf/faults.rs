//! Switches that make the ZJMF fake misbehave, for testing how a client
//! reads refused logins, expired tokens, unreadable answers, silence and
//! calls whose answer never arrives.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What the next request meets instead of being handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fault {
    /// No answer until the fake stops.
    Hang,
    /// HTTP 200 with an HTML error page, as a proxy in front answers.
    Html,
    /// HTTP 200 with JSON cut off in the middle.
    BrokenJson,
}

/// Fault switches of the fake, settable at any time through `&self`.
#[derive(Debug, Default)]
pub struct ZjmfFaults {
    next: Mutex<Option<Fault>>,
    drop_after: Mutex<Option<String>>,
    refuse_logins: AtomicBool,
    token_epoch: AtomicU64,
}

impl ZjmfFaults {
    /// The next request never gets an answer (until the fake stops), so a
    /// client's time-out can be tested.
    pub fn hang_next(&self) {
        self.arm(Fault::Hang);
    }

    /// The next request gets HTTP 200 and an HTML page instead of JSON.
    pub fn html_next(&self) {
        self.arm(Fault::Html);
    }

    /// The next request gets HTTP 200 and JSON that ends half-way.
    pub fn broken_json_next(&self) {
        self.arm(Fault::BrokenJson);
    }

    /// The next request to `path` (such as `/console/v1/pay`) is carried out,
    /// then the connection is closed without an answer: the client cannot
    /// know whether it happened.
    pub fn drop_after_accept_next(&self, path: &str) {
        *lock(&self.drop_after) = Some(path.to_owned());
    }

    /// While on, every login is refused as if the API key were wrong or
    /// revoked.
    pub fn refuse_logins(&self, on: bool) {
        self.refuse_logins.store(on, Ordering::SeqCst);
    }

    /// Every token issued so far stops working: the next console call gets
    /// status 401 until the client logs in again.
    pub fn expire_token_now(&self) {
        self.token_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Disarms the one-request switches (`*_next`).
    pub fn reset(&self) {
        *lock(&self.next) = None;
        *lock(&self.drop_after) = None;
    }

    pub(super) fn take_next(&self) -> Option<Fault> {
        lock(&self.next).take()
    }

    /// True (once) when `path` is the one armed to drop after acceptance.
    pub(super) fn take_drop_after(&self, path: &str) -> bool {
        let mut armed = lock(&self.drop_after);
        let hit = armed.as_deref() == Some(path);
        if hit {
            *armed = None;
        }
        hit
    }

    pub(super) fn logins_refused(&self) -> bool {
        self.refuse_logins.load(Ordering::SeqCst)
    }

    /// Tokens are valid only in the epoch they were issued in.
    pub(super) fn token_epoch(&self) -> u64 {
        self.token_epoch.load(Ordering::SeqCst)
    }

    fn arm(&self, fault: Fault) {
        *lock(&self.next) = Some(fault);
    }
}

fn lock<T>(slot: &Mutex<T>) -> MutexGuard<'_, T> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_switches_hit_once() {
        let faults = ZjmfFaults::default();
        faults.hang_next();
        faults.html_next();
        assert_eq!(faults.take_next(), Some(Fault::Html), "the later switch replaces the earlier");
        assert_eq!(faults.take_next(), None);
        faults.drop_after_accept_next("/console/v1/pay");
        assert!(!faults.take_drop_after("/console/v1/cart"));
        assert!(faults.take_drop_after("/console/v1/pay"));
        assert!(!faults.take_drop_after("/console/v1/pay"));
        let epoch = faults.token_epoch();
        faults.expire_token_now();
        assert_eq!(faults.token_epoch(), epoch + 1);
    }
}
