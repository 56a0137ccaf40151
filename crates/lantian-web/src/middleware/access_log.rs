//! One access-log row per request (privacy policy C1.7): client IP, browser and version,
//! operating system, time, method, page (query redacted), status, latency, and who made it.
//!
//! Layered just inside `request::context`, so the client IP (trusted-proxy aware) is known and
//! every response is seen in its final form, error pages included. The row goes to the batching
//! writer of `lantian_core::accesslog`; while its queue is full the response waits.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::USER_AGENT;
use http::request::Parts;
use lantian_core::accesslog::{self, AccessEvent, AccessLogHandle, Entry};
use lantian_core::authz::Subject;
use lantian_core::clock::Clock;

use crate::AppState;
use crate::app::REQUEST_ID;
use crate::middleware::RequestContext;

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

/// What the middleware needs, and no more: the whole `AppState` would be cloned and dropped
/// for every request (measured: about 1,500 instructions).
#[derive(Clone)]
pub struct Logger {
    clock: Arc<dyn Clock>,
    log: AccessLogHandle,
}

impl Logger {
    pub fn new(state: &AppState) -> Logger {
        Logger { clock: state.core.clock.clone(), log: state.access_log.clone() }
    }
}

pub async fn record(State(logger): State<Logger>, mut req: Request, next: Next) -> Response {
    if is_probe(req.uri().path()) {
        return next.run(req).await;
    }
    let started = Instant::now();
    let at = logger.clock.now();
    let slot = LogSlot::default();
    req.extensions_mut().insert(slot.clone());
    let ip = req.extensions().get::<RequestContext>().map(|c| c.client_ip.to_string()).unwrap_or_default();
    let (browser, os) = lantian_core::sessions::device_of(req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()));
    let method = req.method().as_str().to_owned();
    let path = accesslog::redact_path(req.uri().path_and_query().map_or(req.uri().path(), |p| p.as_str()));
    let request_id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let response = next.run(req).await;
    let noted = *slot.note();
    let entry = Entry {
        at,
        ip,
        browser,
        os,
        method,
        path,
        status: response.status().as_u16(),
        latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
        subject: noted.subject,
        event: noted.event,
        request_id,
    };
    logger.log.record(entry).await;
    response
}
