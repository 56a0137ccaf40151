//! A fake of an EPay-compatible payment gateway (彩虹易支付 protocol, the
//! one "CooPay" speaks) that takes orders, shows a cashier page where the
//! demo's buyer pays or fails them, and sends the signed asynchronous
//! notifications to the merchant's `notify_url`.
//!
//! It speaks both protocol variants on one port, relative to
//! [`EpayFake::base_url`]:
//! - **V1 (MD5)**: `submit.php` (browser form, to the cashier), `mapi.php`
//!   (server-side create), `api.php?act=order` (query) and
//!   `api.php?act=refund`. Requests carry `sign` = lowercase hex MD5 of the
//!   sorted `k=v&…` string with the merchant key appended ([`KeyStyle`]).
//! - **V2 (RSA)**: `api/pay/submit`, `api/pay/create`, `api/pay/query` and
//!   `api/pay/refund`. Requests are SHA256withRSA-signed by the merchant's
//!   private key and carry a 10-digit `timestamp` no more than 300 s from the
//!   fake's clock; success replies (`code` 0) and notifications are signed by
//!   the platform key generated at start.
//!
//! Refusals come back as HTTP 200 with an error `code`, as real gateways
//! answer. Every request is recorded field by field ([`EpayFake::requests`])
//! so tests can pin exactly what a client sent, and every notification
//! attempt with the merchant's answer ([`EpayFake::notifies`]). A
//! notification is re-sent on the gateway schedule (0, 15, 15, 30, 180 and
//! 1800 s, scaled by [`EpayFakeSettings::notify_retry_unit`]) until the
//! body of the answer is exactly `success`. [`EpayFaults`] makes it send
//! forged, duplicated, late, wrong-amount or no notifications, fail or hang
//! queries, and refuse creates. It is **plain HTTP on loopback only**.
//!
//! `GET /` lists the orders and notification attempts.

mod cashier;
mod faults;
mod form;
mod gateway;
mod money;
mod notify;
mod order;
mod page;
mod records;
mod reply;
mod rsa_keys;
mod signing;
mod store;
#[cfg(test)]
mod tests;
mod v1;
mod v2;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::harness::{self, NowMs, Running};
use store::{OrderRef, Store};

pub use faults::EpayFaults;
pub use records::{EpayOrder, EpayVersion, NotifyAttempt, OrderActionError, OrderStatus, ReceivedRequest};
pub use rsa_keys::RsaKeyPair;
pub use signing::KeyStyle;

/// How the fake is started.
#[derive(Clone)]
pub struct EpayFakeSettings {
    /// Port on 127.0.0.1 for the API and the pages; `0` picks a free port.
    pub port: u16,
    /// The application's clock: V2 timestamps are checked against it, and
    /// order times and notification timestamps come from it.
    pub now: NowMs,
    /// The one merchant id (`pid`) the fake knows.
    pub pid: String,
    /// That merchant's V1 key, for MD5 signatures and `api.php`.
    pub key: String,
    /// How the V1 key is joined to the signed string.
    pub key_style: KeyStyle,
    /// The V2 platform key pair; `None` generates a 2048-bit one at start.
    /// Tests pass one generated once, as RSA key generation is slow.
    pub platform_key: Option<RsaKeyPair>,
    /// How long one second of the notification retry schedule lasts:
    /// one second for the real schedule, a millisecond in tests.
    pub notify_retry_unit: Duration,
}

impl Default for EpayFakeSettings {
    fn default() -> Self {
        EpayFakeSettings {
            port: 0,
            now: harness::system_now(),
            pid: "1001".to_owned(),
            key: "LantianTestKey123".to_owned(),
            key_style: KeyStyle::Appended,
            platform_key: None,
            notify_retry_unit: Duration::from_secs(1),
        }
    }
}

/// The merchant account the fake serves.
struct Merchant {
    pid: String,
    key: String,
    key_style: KeyStyle,
}

/// State shared by the handlers, the notification tasks and the handle.
struct Shared {
    store: Mutex<Store>,
    faults: EpayFaults,
    now: NowMs,
    merchant: Merchant,
    /// Verifies V2 requests; V2 is refused until it is set.
    merchant_public_key: RwLock<Option<rsa::PublicKey>>,
    platform_key: RsaKeyPair,
    /// `http://127.0.0.1:PORT/`, for the cashier links replies carry.
    base_url: String,
    notify_retry_unit: Duration,
    http: reqwest::Client,
    /// Lets [`EpayFake::pay`] start notification tasks from any thread.
    runtime: tokio::runtime::Handle,
    /// Cancelled when the fake stops, ending notification tasks and hangs.
    stop: CancellationToken,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the store half-updated
        // in a way that matters to a fake; keep serving.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> i64 {
        (self.now)()
    }

    /// The cashier page of an order, which the replies hand out as the
    /// payment URL and its QR code encodes.
    fn cashier_url(&self, trade_no: &str) -> String {
        format!("{}cashier/{trade_no}", self.base_url)
    }

    /// Marks an unpaid order paid and starts sending its notification.
    fn pay(self: &Arc<Self>, order: OrderRef<'_>) -> Result<EpayOrder, OrderActionError> {
        let paid = self.store().pay(order, self.now_ms())?;
        notify::spawn(self, paid.clone());
        Ok(paid.snapshot())
    }

    fn fail(&self, order: OrderRef<'_>) -> Result<EpayOrder, OrderActionError> {
        self.store().fail(order, self.now_ms()).map(|order| order.snapshot())
    }
}

/// A running EPay fake. Dropping it stops the server and the notifications.
pub struct EpayFake {
    shared: Arc<Shared>,
    server: Running,
    _stop: DropGuard,
}

impl EpayFake {
    /// Binds the port on 127.0.0.1 and starts serving; generates the
    /// platform key first if the settings bring none.
    pub async fn start(settings: EpayFakeSettings) -> io::Result<EpayFake> {
        let platform_key = match settings.platform_key {
            Some(key) => key,
            None => tokio::task::spawn_blocking(|| RsaKeyPair::generate(2048)).await.map_err(io::Error::other)??,
        };
        let http = reqwest::Client::builder()
            .timeout(notify::TIMEOUT)
            // A redirect is not an acknowledgement; gateways do not follow them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(io::Error::other)?;
        let listener = harness::bind_loopback(settings.port).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            faults: EpayFaults::default(),
            now: settings.now,
            merchant: Merchant { pid: settings.pid, key: settings.key, key_style: settings.key_style },
            merchant_public_key: RwLock::new(None),
            platform_key,
            base_url: format!("http://{addr}/"),
            notify_retry_unit: settings.notify_retry_unit,
            http,
            runtime: tokio::runtime::Handle::current(),
            stop: stop.clone(),
        });
        let server = harness::serve_listener(listener, router(Arc::clone(&shared)))?;
        tracing::info!(%addr, "EPay fake started");
        Ok(EpayFake { shared, server, _stop: stop.drop_guard() })
    }

    /// Where the API and the pages are served.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The gateway base URL to configure the client with:
    /// `http://127.0.0.1:PORT/` (ending with `/`).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The platform public key (PKCS#8 `BEGIN PUBLIC KEY` PEM) that verifies
    /// V2 replies and notifications.
    pub fn platform_public_key_pem(&self) -> String {
        self.shared.platform_key.public_key_pem()
    }

    /// Sets the merchant public key that verifies V2 requests: a PEM
    /// (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`) or the bare base64 of
    /// the DER, as merchant back-ends paste it.
    pub fn set_merchant_public_key_pem(&self, pem: &str) -> io::Result<()> {
        let key = rsa_keys::parse_public_key(pem)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an RSA public key"))?;
        *self.shared.merchant_public_key.write().unwrap_or_else(PoisonError::into_inner) = Some(key);
        Ok(())
    }

    /// Every order, oldest first.
    pub fn orders(&self) -> Vec<EpayOrder> {
        self.shared.store().orders()
    }

    /// The order with this `out_trade_no`, if any.
    pub fn order(&self, out_trade_no: &str) -> Option<EpayOrder> {
        self.shared.store().find(OrderRef::OutTradeNo(out_trade_no)).map(|order| order.snapshot())
    }

    /// Every API request received, oldest first (the newest 1000 are kept),
    /// with the exact fields it carried, refused ones included.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.store().requests()
    }

    /// Every notification attempt, oldest first (the newest 1000 are kept),
    /// with the merchant's answer.
    pub fn notifies(&self) -> Vec<NotifyAttempt> {
        self.shared.store().notifies()
    }

    /// The fault switches; they can be flipped at any time.
    pub fn faults(&self) -> &EpayFaults {
        &self.shared.faults
    }

    /// Pays an unpaid order as the buyer would on the cashier page, and
    /// starts sending its notification.
    pub fn pay(&self, out_trade_no: &str) -> Result<EpayOrder, OrderActionError> {
        self.shared.pay(OrderRef::OutTradeNo(out_trade_no))
    }

    /// Fails (closes) an unpaid order; no notification is sent.
    pub fn fail(&self, out_trade_no: &str) -> Result<EpayOrder, OrderActionError> {
        self.shared.fail(OrderRef::OutTradeNo(out_trade_no))
    }

    /// Stops the notifications and the server, and waits until it has stopped.
    pub async fn shutdown(self) {
        let EpayFake { shared: _, server, _stop: stop } = self;
        drop(stop);
        server.shutdown().await;
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/style.css", get(crate::html::style))
        .route("/submit.php", get(v1::submit).post(v1::submit))
        .route("/mapi.php", post(v1::mapi))
        .route("/api.php", get(v1::api).post(v1::api))
        .route("/api/pay/submit", get(v2::submit).post(v2::submit))
        .route("/api/pay/create", post(v2::create))
        .route("/api/pay/query", post(v2::query))
        .route("/api/pay/refund", post(v2::refund))
        .route("/cashier/{trade_no}", get(cashier::page))
        .route("/cashier/{trade_no}/pay", post(cashier::pay))
        .route("/cashier/{trade_no}/fail", post(cashier::fail))
        .with_state(shared)
}
