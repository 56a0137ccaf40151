//! Switches that make the Proxmox fake misbehave, for testing how a client reads time-outs,
//! lost answers, locks, failed tasks and unreadable answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// What the next request meets instead of its normal handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fault {
    /// No answer until the fake stops.
    Hang,
    /// HTTP 200 with an HTML page.
    Html,
    /// This status and error text, as Proxmox answers a failure.
    Error { status: u16, message: String },
}

/// One armed switch: set it, and the first request it fits takes it.
#[derive(Debug)]
struct Slot<T>(Mutex<Option<T>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot(Mutex::new(None))
    }
}

impl<T> Slot<T> {
    fn set(&self, value: Option<T>) {
        // A panic while holding the lock cannot leave an Option half-written; keep serving.
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }

    /// Takes the value if `fits` says it applies.
    fn take_if(&self, fits: impl FnOnce(&T) -> bool) -> Option<T> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(fits) { slot.take() } else { None }
    }
}

/// Fault switches of the fake, settable at any time through `&self`. Each one-shot switch
/// replaces one of its kind that is still armed.
#[derive(Debug, Default)]
pub struct ProxmoxFaults {
    next: Slot<Fault>,
    locked: Slot<String>,
    drop_after_accept: Slot<String>,
    task_failure: Slot<String>,
    ids_as_strings: AtomicBool,
}

impl ProxmoxFaults {
    /// The next request never gets an answer (until the fake stops): a client time-out.
    pub fn hang_next(&self) {
        self.next.set(Some(Fault::Hang));
    }

    /// The next request gets HTTP 200 with an HTML page, as from a misrouted proxy.
    pub fn html_next(&self) {
        self.next.set(Some(Fault::Html));
    }

    /// The next request gets `status` with `message`, unhandled: a 500 such as "can't lock
    /// file '…' - got timeout", or a 59x pseudo-code of a failed node-to-node forward.
    pub fn error_next(&self, status: u16, message: &str) {
        self.next.set(Some(Fault::Error { status, message: message.to_owned() }));
    }

    /// The next POST, PUT or DELETE gets 500 "VM is locked (`lock`)", as while a backup runs;
    /// reads pass.
    pub fn locked_next(&self, lock: &str) {
        self.locked.set(Some(lock.to_owned()));
    }

    /// The next request whose path starts with `path_prefix` (the full path, such as
    /// `/api2/json/nodes/pve/qemu/9000/clone`) is handled (a clone starts, a VM appears), and
    /// then its connection is closed without an answer.
    pub fn drop_after_accept_next(&self, path_prefix: &str) {
        self.drop_after_accept.set(Some(path_prefix.to_owned()));
    }

    /// The next task started ends with `exitstatus` (any text but "OK"), having done nothing
    /// (a failed clone leaves no VM).
    pub fn fail_next_task(&self, exitstatus: &str) {
        self.task_failure.set(Some(exitstatus.to_owned()));
    }

    /// From now on (until turned off), every number in an answer's `data` is sent as a string.
    pub fn ids_as_strings(&self, on: bool) {
        self.ids_as_strings.store(on, Ordering::SeqCst);
    }

    /// Turns every switch off.
    pub fn reset(&self) {
        self.next.set(None);
        self.locked.set(None);
        self.drop_after_accept.set(None);
        self.task_failure.set(None);
        self.ids_as_strings(false);
    }

    pub(super) fn take(&self) -> Option<Fault> {
        self.next.take_if(|_| true)
    }

    pub(super) fn take_locked(&self) -> Option<String> {
        self.locked.take_if(|_| true)
    }

    pub(super) fn take_drop(&self, path: &str) -> bool {
        self.drop_after_accept.take_if(|prefix| path.starts_with(prefix.as_str())).is_some()
    }

    pub(super) fn take_task_failure(&self) -> Option<String> {
        self.task_failure.take_if(|_| true)
    }

    pub(super) fn strings(&self) -> bool {
        self.ids_as_strings.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_switches_hit_one_fitting_request() {
        let faults = ProxmoxFaults::default();
        faults.hang_next();
        faults.error_next(596, "Connection timed out");
        assert_eq!(faults.take(), Some(Fault::Error { status: 596, message: "Connection timed out".into() }));
        assert_eq!(faults.take(), None);
        faults.drop_after_accept_next("/api2/json/nodes/pve/qemu/9000/clone");
        assert!(!faults.take_drop("/api2/json/nodes/pve/qemu/101/config"), "another path");
        assert!(faults.take_drop("/api2/json/nodes/pve/qemu/9000/clone"));
        assert!(!faults.take_drop("/api2/json/nodes/pve/qemu/9000/clone"), "once");
        faults.fail_next_task("boom");
        faults.ids_as_strings(true);
        faults.reset();
        assert_eq!((faults.take_task_failure(), faults.strings()), (None, false));
    }
}
