//! Switches that make the SMTP fake misbehave, for testing retry paths.

use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Fault switches of the SMTP fake, settable at any time through `&self`.
///
/// At the end of DATA a well-formed message first meets a pending drop, then
/// a pending rejection; a message refused for its size or line length
/// consumes neither.
#[derive(Debug, Default)]
pub struct SmtpFaults {
    reject_remaining: AtomicU32,
    reject_code: AtomicU16,
    drop_remaining: AtomicU32,
    delay_ms: AtomicU64,
}

/// Used when `reject_next` is given a code that would not be a refusal.
const FALLBACK_REJECT_CODE: u16 = 554;

impl SmtpFaults {
    /// Refuses the next `n` messages at the end of DATA with `code` (4xx for
    /// a temporary failure such as 451, 5xx for a permanent one such as 554);
    /// they are not recorded. A code outside 400..=599 becomes 554.
    pub fn reject_next(&self, n: u32, code: u16) {
        let code = if (400..=599).contains(&code) { code } else { FALLBACK_REJECT_CODE };
        self.reject_code.store(code, Ordering::SeqCst);
        self.reject_remaining.store(n, Ordering::SeqCst);
    }

    /// Closes the connection without any reply after the DATA of the next
    /// `n` messages, as a crashed server or broken network would; they are
    /// not recorded.
    pub fn drop_next(&self, n: u32) {
        self.drop_remaining.store(n, Ordering::SeqCst);
    }

    /// Delays every reply (greeting included) by `ms` milliseconds; 0 turns
    /// the delay off.
    pub fn set_delay_ms(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Turns every fault off.
    pub fn reset(&self) {
        self.reject_remaining.store(0, Ordering::SeqCst);
        self.drop_remaining.store(0, Ordering::SeqCst);
        self.delay_ms.store(0, Ordering::SeqCst);
    }

    /// Consumes one pending rejection, returning its reply code.
    pub(super) fn take_reject(&self) -> Option<u16> {
        take_one(&self.reject_remaining).then(|| self.reject_code.load(Ordering::SeqCst))
    }

    /// Consumes one pending drop.
    pub(super) fn take_drop(&self) -> bool {
        take_one(&self.drop_remaining)
    }

    pub(super) fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(Ordering::SeqCst))
    }
}

/// Decrements `counter` if positive; true when a unit was taken. Atomic so
/// two concurrent sessions never both take the last one.
fn take_one(counter: &AtomicU32) -> bool {
    counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_resets() {
        let faults = SmtpFaults::default();
        faults.reject_next(2, 451);
        assert_eq!(faults.take_reject(), Some(451));
        assert_eq!(faults.take_reject(), Some(451));
        assert_eq!(faults.take_reject(), None);

        faults.reject_next(1, 250);
        assert_eq!(faults.take_reject(), Some(554));

        faults.drop_next(1);
        faults.set_delay_ms(7);
        assert_eq!(faults.delay(), Duration::from_millis(7));
        faults.reset();
        assert!(!faults.take_drop());
        assert_eq!(faults.delay(), Duration::ZERO);
    }
}
