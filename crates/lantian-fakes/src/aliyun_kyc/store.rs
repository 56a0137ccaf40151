//! What the fake remembers: the requests it received and the Cloudauth
//! nonces already used.

use std::collections::{BTreeMap, VecDeque};

use crate::aliyun_gateway::Nonces;

/// Which of the fake's two APIs a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KycApi {
    Cloudauth,
    Market,
}

/// A request as the fake received it, whatever its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedKycRequest {
    pub api: KycApi,
    pub method: String,
    pub path: String,
    /// The query string's parameters, decoded; empty when it had none or
    /// could not be read.
    pub query: BTreeMap<String, String>,
    /// The form body's parameters, decoded; empty when it had none or was
    /// not a readable form.
    pub form: BTreeMap<String, String>,
    /// The names of the headers received, lower case, sorted.
    pub header_names: Vec<String>,
    /// By the clock given in the settings.
    pub received_at_ms: i64,
}

impl ReceivedKycRequest {
    /// The names of every parameter, from the query and the body.
    pub fn param_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.query.keys().chain(self.form.keys()).map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// Requests beyond this many are forgotten (oldest first), so a
/// long-running demo does not grow without bound.
const KEEP_LAST: usize = 1000;

#[derive(Default)]
pub(super) struct Store {
    requests: VecDeque<ReceivedKycRequest>,
    /// Spent by Cloudauth requests whose signature is good.
    pub nonces: Nonces,
}

impl Store {
    pub(super) fn record(&mut self, request: ReceivedKycRequest) {
        self.requests.push_back(request);
        while self.requests.len() > KEEP_LAST {
            self.requests.pop_front();
        }
    }

    pub(super) fn requests(&self) -> Vec<ReceivedKycRequest> {
        self.requests.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_requests() {
        let mut store = Store::default();
        for n in 0..=KEEP_LAST as i64 {
            store.record(ReceivedKycRequest {
                api: KycApi::Market,
                method: "POST".into(),
                path: "/eid/check".into(),
                query: BTreeMap::new(),
                form: BTreeMap::new(),
                header_names: Vec::new(),
                received_at_ms: n,
            });
        }
        let requests = store.requests();
        assert_eq!((requests.len(), requests[0].received_at_ms), (KEEP_LAST, 1));
    }
}
