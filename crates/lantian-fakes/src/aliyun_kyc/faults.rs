//! Switches that make the real-name verification fake misbehave, for
//! testing how a client reads time-outs, unreadable answers and errors.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// What the next request meets instead of its normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fault {
    /// No answer until the fake stops.
    Hang,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// Cloudauth: HTTP 200 with this `Code`. Market: this HTTP status (500
    /// when the code is not one) and no body, as the API gateway answers.
    Error(String),
}

/// Fault switches of the fake, settable at any time through `&self`. Each
/// arms the next request to either API (before any check), replacing a
/// switch that is still armed.
#[derive(Debug, Default)]
pub struct KycFaults {
    next: Mutex<Option<Fault>>,
}

impl KycFaults {
    /// The next request never gets an answer (until the fake stops), so a
    /// client's time-out can be tested.
    pub fn hang_next(&self) {
        self.arm(Fault::Hang);
    }

    /// The next request gets HTTP 200 and an HTML page instead of JSON.
    pub fn garbage_next(&self) {
        self.arm(Fault::Garbage);
    }

    /// The next request gets an error: on Cloudauth, HTTP 200 with `Code`
    /// `code` (such as "500" system error or "410" not activated); on the
    /// market API, HTTP status `code` (such as "403" quota used up or "500").
    pub fn error_next(&self, code: &str) {
        self.arm(Fault::Error(code.to_owned()));
    }

    /// Disarms the switch.
    pub fn reset(&self) {
        *self.slot() = None;
    }

    /// Takes the armed fault, if any.
    pub(super) fn take(&self) -> Option<Fault> {
        self.slot().take()
    }

    fn arm(&self, fault: Fault) {
        *self.slot() = Some(fault);
    }

    fn slot(&self) -> MutexGuard<'_, Option<Fault>> {
        self.next.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_switch_hits_one_request() {
        let faults = KycFaults::default();
        assert_eq!(faults.take(), None);
        faults.hang_next();
        faults.error_next("410");
        assert_eq!(faults.take(), Some(Fault::Error("410".into())), "the later switch replaces the earlier");
        assert_eq!(faults.take(), None);
        faults.garbage_next();
        faults.reset();
        assert_eq!(faults.take(), None);
    }
}
