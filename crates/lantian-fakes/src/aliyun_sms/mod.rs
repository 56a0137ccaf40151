//! A fake of Aliyun SMS (dysmsapi, API version 2017-05-25, action SendSms)
//! that records what it accepts and shows it on a small web page, the
//! demo's "phone".
//!
//! It speaks the real protocol, so the product's own client runs unchanged
//! against it: `POST /?PhoneNumbers=..&SignName=..&TemplateCode=..` with the
//! parameters in the query string, signed with Aliyun's V3 signature
//! (`ACS3-HMAC-SHA256` over `host` and the `x-acs-*` headers). Everything the
//! real gateway checks is checked — signature, AccessKey, a date within 15
//! minutes of the fake's clock, single-use nonces — and then what the SMS
//! service checks: number format, approved sign name and templates, template
//! variables and per-number limit control, answered with the same HTTP
//! statuses and JSON `Code`s. It is **plain HTTP on loopback only**.
//! [`SmsFaults`] makes it fail, drop or slow down requests so retry paths
//! can be tested.
//!
//! On the same port, `GET /` lists the accepted messages and
//! `GET /api/messages` returns them as JSON.

mod faults;
mod handler;
mod page;
mod query;
mod reply;
mod send_sms;
mod store;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::routing::get;

use crate::aliyun_gateway::Credentials;
use crate::harness::{self, NowMs, Running};
use reply::RequestIds;
use send_sms::Catalog;
use store::{Limits, Store};

pub use faults::SmsFaults;
pub use store::ReceivedSms;

/// How the fake is started.
#[derive(Clone)]
pub struct AliyunSmsFakeOptions {
    /// Port on 127.0.0.1 for the API and the page; `0` picks a free port.
    pub port: u16,
    /// The application's clock: signed dates are checked against it and
    /// limit control counts by it.
    pub now: NowMs,
    /// The one AccessKey pair the fake accepts.
    pub access_key_id: String,
    pub access_key_secret: String,
    /// The approved signatures (`SignName`).
    pub sign_names: Vec<String>,
    /// The approved templates: `(TemplateCode, variables its text uses)`.
    pub templates: Vec<(String, Vec<String>)>,
    /// `(per_minute, per_hour, per_day)` SMS accepted for one phone number
    /// before `isv.BUSINESS_LIMIT_CONTROL`.
    pub limits: (u32, u32, u32),
}

impl Default for AliyunSmsFakeOptions {
    fn default() -> Self {
        AliyunSmsFakeOptions {
            port: 0,
            now: harness::system_now(),
            access_key_id: "LTAIfakeAccessKeyId".to_owned(),
            access_key_secret: "fakeAccessKeySecret".to_owned(),
            sign_names: vec!["蓝天云".to_owned()],
            templates: vec![
                ("SMS_900000001".to_owned(), vec!["event".to_owned()]),
                ("SMS_900000002".to_owned(), vec!["service".to_owned(), "days".to_owned()]),
            ],
            // Aliyun's own defaults for one number.
            limits: (1, 5, 10),
        }
    }
}

/// State shared by the handlers and the [`AliyunSmsFake`] handle.
struct Shared {
    store: Mutex<Store>,
    faults: SmsFaults,
    attempts: AtomicU64,
    request_ids: RequestIds,
    now: NowMs,
    credentials: Credentials,
    catalog: Catalog,
    limits: Limits,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the store half-updated
        // in a way that matters to a fake; keep serving.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Aliyun SMS fake. Dropping it stops the server.
pub struct AliyunSmsFake {
    shared: Arc<Shared>,
    server: Running,
}

impl AliyunSmsFake {
    /// Binds the port on 127.0.0.1 and starts serving.
    pub async fn start(opts: AliyunSmsFakeOptions) -> anyhow::Result<AliyunSmsFake> {
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            faults: SmsFaults::default(),
            attempts: AtomicU64::new(0),
            request_ids: RequestIds::new(),
            now: opts.now,
            credentials: Credentials { access_key_id: opts.access_key_id, access_key_secret: opts.access_key_secret },
            catalog: Catalog { sign_names: opts.sign_names, templates: opts.templates.into_iter().collect() },
            limits: opts.limits,
        });
        let router = Router::new()
            .route("/", get(page::index).post(handler::send_sms))
            .route("/style.css", get(crate::html::style))
            .route("/api/messages", get(page::api_messages))
            .with_state(Arc::clone(&shared));
        let server = harness::serve_router_with_hang_up(opts.port, router).await?;
        tracing::info!(addr = %server.addr(), "Aliyun SMS fake started");
        Ok(AliyunSmsFake { shared, server })
    }

    /// Where the API and the page are served.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The endpoint to configure the client with: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The accepted messages, oldest first (the newest 1000 are kept).
    pub fn messages(&self) -> Vec<ReceivedSms> {
        self.shared.store().messages()
    }

    /// Every SendSms request that reached the handler, whatever its answer
    /// (dropped ones included).
    pub fn attempts(&self) -> u64 {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    /// The fault switches; they can be flipped at any time.
    pub fn faults(&self) -> &SmsFaults {
        &self.shared.faults
    }

    /// Stops the server and waits until it has stopped.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
