//! The requests the fake received, so tests can prove what Proxmox was told.

use std::collections::{BTreeMap, VecDeque};

/// A request as the fake received it, whatever its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedProxmoxRequest {
    pub method: String,
    /// The full path, such as `/api2/json/nodes/pve/qemu/101/config`, as sent (encoded).
    pub path: String,
    /// The query string's parameters, decoded; empty when none or unreadable.
    pub query: BTreeMap<String, String>,
    /// The form body's parameters, decoded once (an `sshkeys` value stays percent-encoded, as
    /// Proxmox wants it); empty when none or unreadable.
    pub form: BTreeMap<String, String>,
    /// The names of the headers received, lower case, sorted.
    pub header_names: Vec<String>,
    /// By the clock given in the settings.
    pub received_at_ms: i64,
}

impl ReceivedProxmoxRequest {
    /// Every text the request carried: its path and each parameter's name and value.
    pub fn texts(&self) -> Vec<&str> {
        let params = self.query.iter().chain(&self.form);
        std::iter::once(self.path.as_str()).chain(params.flat_map(|(k, v)| [k.as_str(), v.as_str()])).collect()
    }
}

/// Requests beyond this many are forgotten (oldest first), so a long demo does not grow.
const KEEP_LAST: usize = 1000;

#[derive(Default)]
pub(super) struct Store {
    requests: VecDeque<ReceivedProxmoxRequest>,
}

impl Store {
    pub(super) fn record(&mut self, request: ReceivedProxmoxRequest) {
        self.requests.push_back(request);
        while self.requests.len() > KEEP_LAST {
            self.requests.pop_front();
        }
    }

    pub(super) fn requests(&self) -> Vec<ReceivedProxmoxRequest> {
        self.requests.iter().cloned().collect()
    }
}
