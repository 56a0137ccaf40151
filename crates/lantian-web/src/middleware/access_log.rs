//! One access-log row per request (privacy policy C1.7): client IP, browser and version,
//! operating system, time, method, page (query redacted), status, latency, and who made it.
//!
//! Started and finished by `request::context`, outside every layer that makes a response, once
//! the client IP (trusted-proxy aware) is known, so every response is seen in its final form,
//! error pages included. The row goes to the batching writer of `lantian_core::accesslog`; while its queue
//! is full the response waits.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::{FromRequestParts, Request};
use http::header::USER_AGENT;
use http::request::Parts;
use lantian_core::UnixMs;
use lantian_core::accesslog::{self, AccessEvent, AccessLogHandle, Entry};
use lantian_core::authz::Subject;

use crate::app::REQUEST_ID;

#[derive(Debug, Clone, Copy)]
struct Noted {
    subject: Option<Subject>,
    event: AccessEvent,
}

/// Who made the request and what it was, filled in while the request runs: the session
/// extractors name the subject, the sign-in and sign-out handlers the event. Shared between the
/// middleware and the handlers through the request's extensions.
#[derive(Debug, Clone)]
pub struct LogSlot(Arc<Mutex<Noted>>);

impl Default for LogSlot {
    fn default() -> Self {
        LogSlot(Arc::new(Mutex::new(Noted { subject: None, event: AccessEvent::Request })))
    }
}

impl LogSlot {
    /// The slot of a request; a detached one where the layer is absent (it records nothing).
    pub fn of(parts: &Parts) -> LogSlot {
        parts.extensions.get::<LogSlot>().cloned().unwrap_or_default()
    }

    fn note(&self) -> MutexGuard<'_, Noted> {
        // A poisoned lock only means a panic elsewhere; the note itself is still whole.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The request carried a session or token of `subject`.
    pub fn set_subject(&self, subject: Subject) {
        self.note().subject = Some(subject);
    }

    /// The request was a sign-in event; `subject` is None when the username named nobody.
    pub fn set_event(&self, subject: Option<Subject>, event: AccessEvent) {
        *self.note() = Noted { subject, event };
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LogSlot {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(LogSlot::of(parts))
    }
}

/// Probes of the load balancer and the orchestrator: machine traffic every few seconds that
/// names no person and requests no page, so it is not written to the access log (it would
/// drown the people's requests and cost a row per probe).
fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}

/// A request's row while the request runs: filled in with what is known when it arrives;
/// status, latency and who made it come at the end. `request::context` starts it and finishes
/// it with the response. Logging lives in that middleware rather than in a layer of its own:
/// every `from_fn` layer clones and boxes the whole stack inside it for each request.
pub struct Pending {
    started: Instant,
    slot: LogSlot,
    entry: Entry,
}

/// Starts the row of `req` from `client_ip`; None for probes. Puts the request's [`LogSlot`]
/// into its extensions for the handlers to fill in.
pub fn start(req: &mut Request, client_ip: IpAddr, now: UnixMs, started: Instant) -> Option<Pending> {
    if is_probe(req.uri().path()) {
        return None;
    }
    let slot = LogSlot::default();
    req.extensions_mut().insert(slot.clone());
    let (browser, os) = lantian_core::sessions::device_of(req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()));
    let entry = Entry {
        at: now,
        ip: client_ip.to_string().into(),
        browser,
        os,
        method: req.method().as_str().into(),
        path: accesslog::redact_path(req.uri().path_and_query().map_or(req.uri().path(), |p| p.as_str())).into(),
        status: 0,
        latency_us: 0,
        subject: None,
        event: AccessEvent::Request,
        request_id: req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).map(Arc::from),
    };
    Some(Pending { started, slot, entry })
}

impl Pending {
    /// Hands the finished row to the writer (waits while its queue is full).
    pub async fn finish(self, status: u16, log: &AccessLogHandle) {
        let noted = *self.slot.note();
        let entry = Entry {
            status,
            latency_us: i64::try_from(self.started.elapsed().as_micros()).unwrap_or(i64::MAX),
            subject: noted.subject,
            event: noted.event,
            ..self.entry
        };
        log.record(entry).await;
    }
}
