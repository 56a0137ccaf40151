//! Switches that make the EPay fake misbehave, for testing a client's
//! notification handling, reconciliation and retry paths.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Fault switches of the EPay fake, settable at any time through `&self`.
///
/// "Next n" switches count down as they hit. Notification switches are
/// read when an order is paid and hold for all of that payment's sends,
/// except [`EpayFaults::bad_signature_next`], which counts send attempts so
/// a retry can carry a good signature again.
#[derive(Debug, Default)]
pub struct EpayFaults {
    bad_signature_remaining: AtomicU32,
    amount_mismatch_remaining: AtomicU32,
    suppress_remaining: AtomicU32,
    duplicates: AtomicU32,
    late_ms: AtomicU64,
    query_error_remaining: AtomicU32,
    query_hang_remaining: AtomicU32,
    query_hang_ms: AtomicU64,
    create_error_remaining: AtomicU32,
    create_error_msg: Mutex<String>,
    refund_refused_remaining: AtomicU32,
}

/// Used when `create_error_next` is given an empty message.
const FALLBACK_CREATE_ERROR: &str = "支付通道维护中 (fault injected by the fake)";

/// What the switches say about the notification of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NotifyPlan {
    /// Send nothing at all.
    pub suppressed: bool,
    /// Claim one fen more than the order's amount (correctly signed).
    pub amount_mismatch: bool,
    /// Identical copies sent at once per attempt (at least 1).
    pub copies: u32,
    /// Wait before the first send.
    pub late: Duration,
}

impl EpayFaults {
    /// Signs the next `n` notification sends (attempts, not payments) over
    /// different data, so their `sign` does not verify.
    pub fn bad_signature_next(&self, n: u32) {
        self.bad_signature_remaining.store(n, Ordering::SeqCst);
    }

    /// The notifications of the next `n` payments claim one fen more than
    /// the order's amount, correctly signed.
    pub fn amount_mismatch_next(&self, n: u32) {
        self.amount_mismatch_remaining.store(n, Ordering::SeqCst);
    }

    /// The next `n` payments send no notification at all; the order is
    /// still paid, as queries show (for reconciliation tests).
    pub fn suppress_notify_next(&self, n: u32) {
        self.suppress_remaining.store(n, Ordering::SeqCst);
    }

    /// Sends every notification attempt as `copies` identical requests at
    /// once, and once more after it was acknowledged, as gateways that lost
    /// the acknowledgement do; 0 or 1 turns it off.
    pub fn set_duplicate_notifies(&self, copies: u32) {
        self.duplicates.store(copies, Ordering::SeqCst);
    }

    /// Waits this long (real time, not scaled) before the first send of
    /// each notification; zero turns it off.
    pub fn set_late_notify(&self, delay: Duration) {
        self.late_ms.store(millis(delay), Ordering::SeqCst);
    }

    /// Answers the next `n` queries (`api.php?act=order`, `api/pay/query`)
    /// with HTTP 500.
    pub fn query_server_error_next(&self, n: u32) {
        self.query_error_remaining.store(n, Ordering::SeqCst);
    }

    /// Holds the next `n` queries for `delay` before answering, longer than
    /// a client's timeout should allow (cut short when the fake stops).
    pub fn query_hang_next(&self, n: u32, delay: Duration) {
        self.query_hang_ms.store(millis(delay), Ordering::SeqCst);
        self.query_hang_remaining.store(n, Ordering::SeqCst);
    }

    /// Answers the next `n` valid create calls (`mapi.php`,
    /// `api/pay/create`) with an error body carrying `msg`; no order is made.
    pub fn create_error_next(&self, n: u32, msg: &str) {
        let msg = if msg.is_empty() { FALLBACK_CREATE_ERROR } else { msg };
        *self.create_error_msg.lock().unwrap_or_else(PoisonError::into_inner) = msg.to_owned();
        self.create_error_remaining.store(n, Ordering::SeqCst);
    }

    /// Refuses the next `n` otherwise valid refunds (as a channel that does not allow them
    /// does); the order keeps its money.
    pub fn refuse_refund_next(&self, n: u32) {
        self.refund_refused_remaining.store(n, Ordering::SeqCst);
    }

    /// Turns every fault off.
    pub fn reset(&self) {
        for counter in [
            &self.bad_signature_remaining,
            &self.amount_mismatch_remaining,
            &self.suppress_remaining,
            &self.duplicates,
            &self.query_error_remaining,
            &self.query_hang_remaining,
            &self.create_error_remaining,
            &self.refund_refused_remaining,
        ] {
            counter.store(0, Ordering::SeqCst);
        }
        self.late_ms.store(0, Ordering::SeqCst);
        self.query_hang_ms.store(0, Ordering::SeqCst);
    }

    /// Reads (and counts down) the switches for one payment's notification.
    pub(super) fn take_notify_plan(&self) -> NotifyPlan {
        NotifyPlan {
            suppressed: take_one(&self.suppress_remaining),
            amount_mismatch: take_one(&self.amount_mismatch_remaining),
            copies: self.duplicates.load(Ordering::SeqCst).max(1),
            late: Duration::from_millis(self.late_ms.load(Ordering::SeqCst)),
        }
    }

    pub(super) fn take_bad_signature(&self) -> bool {
        take_one(&self.bad_signature_remaining)
    }

    pub(super) fn take_query_error(&self) -> bool {
        take_one(&self.query_error_remaining)
    }

    /// How long to hold this query, if a hang is pending.
    pub(super) fn take_query_hang(&self) -> Option<Duration> {
        take_one(&self.query_hang_remaining).then(|| Duration::from_millis(self.query_hang_ms.load(Ordering::SeqCst)))
    }

    pub(super) fn take_refund_refused(&self) -> bool {
        take_one(&self.refund_refused_remaining)
    }

    pub(super) fn take_create_error(&self) -> Option<String> {
        take_one(&self.create_error_remaining)
            .then(|| self.create_error_msg.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
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
        let faults = EpayFaults::default();
        let quiet = NotifyPlan { suppressed: false, amount_mismatch: false, copies: 1, late: Duration::ZERO };
        assert_eq!(faults.take_notify_plan(), quiet);

        faults.suppress_notify_next(1);
        faults.amount_mismatch_next(2);
        faults.set_duplicate_notifies(3);
        faults.set_late_notify(Duration::from_millis(40));
        let plan = faults.take_notify_plan();
        assert_eq!(
            plan,
            NotifyPlan { suppressed: true, amount_mismatch: true, copies: 3, late: Duration::from_millis(40) }
        );
        let plan = faults.take_notify_plan();
        assert!(!plan.suppressed && plan.amount_mismatch && plan.copies == 3);
        assert!(!faults.take_notify_plan().amount_mismatch);

        faults.bad_signature_next(1);
        assert!(faults.take_bad_signature() && !faults.take_bad_signature());
        faults.query_hang_next(1, Duration::from_secs(2));
        assert_eq!(faults.take_query_hang(), Some(Duration::from_secs(2)));
        assert_eq!(faults.take_query_hang(), None);
        faults.create_error_next(1, "");
        assert_eq!(faults.take_create_error().as_deref(), Some(FALLBACK_CREATE_ERROR));
        faults.refuse_refund_next(1);
        assert!(faults.take_refund_refused() && !faults.take_refund_refused());

        faults.query_server_error_next(5);
        faults.create_error_next(5, "x");
        faults.bad_signature_next(5);
        faults.refuse_refund_next(5);
        faults.reset();
        assert!(!faults.take_query_error() && faults.take_create_error().is_none() && !faults.take_bad_signature());
        assert!(!faults.take_refund_refused());
        assert_eq!(faults.take_notify_plan(), quiet);
    }
}
