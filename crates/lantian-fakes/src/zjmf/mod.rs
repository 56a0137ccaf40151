//! A fake of a 魔方业务系统 V10 (ZJMF-CBAP 10.x) upstream, as a reseller
//! (下游) sees it: one reseller account with a prepaid balance, buying
//! servers through the client API (idcsmart/ZJMF-CBAP 10.4.6, research
//! `provisioning-upstreams.md` §2a).
//!
//! Every answer is **HTTP 200** with `{"status":200|400|401,"msg":…,"data":…}`,
//! like the real system; only the faults answer otherwise. Routes:
//!
//! | call | what the fake does |
//! |---|---|
//! | `POST /api/v1/auth` `{username,password}` | the API key login → `data.jwt` |
//! | `DELETE /console/v1/cart` `{downstream_host_id,downstream_token}` | empties the cart; a host of that downstream host and token with an unpaid order → `data.order_id`; a paid one → 400 "订单已开通,请勿重新开通" |
//! | `POST /console/v1/cart` `{product_id,qty,config_options}` | adds to the front of the cart |
//! | `POST /console/v1/cart/settle` `{positions,downstream_*,customfield}` | order + host (`Unpaid`) → `order_id`, `amount`, `host_ids` |
//! | `POST /console/v1/pay` `{id,gateway:"credit"}` | pays from the balance ("余额不足" when short); a new host opens after the activation delay |
//! | `POST /console/v1/credit` `{id,use}` | marks an order to use the balance |
//! | `GET /console/v1/order/{id}` | `data.order` with `items[].host_id` |
//! | `GET /console/v1/host` `?page&limit&sort` | `data.list` (with `client_notes`; deleted hosts too), `data.count` |
//! | `GET /console/v1/host/{id}`, `…/ip`; `PUT …/notes` | `data.host`; `dedicate_ip`, `assign_ip`; the client notes |
//! | `POST /console/v1/host/{id}/module/suspend`, `…/unsuspend` | refused when already in that state, as the real one |
//! | `GET`/`POST /console/v1/host/{id}/renew` | the renewal periods; an unpaid renewal order (`code` "Unpaid") |
//! | `POST /console/v1/refund` `{host_id,type:"Immediate"}`; `GET /console/v1/refund/host/{id}/refund` | deletes the host at once (no review, no money back) |
//! | `GET /console/v1/mf_cloud/{id}/status`; `POST …/on\|off\|hard_off\|reboot\|hard_reboot` | the 魔方云 module's power calls |
//!
//! Console calls without a valid `Authorization: Bearer <jwt>` get status
//! 401. Bodies are read as JSON; GET parameters from the query string. Every
//! request is recorded with all its parameters ([`ZjmfFake::requests`]), so
//! tests can prove what the upstream received. [`ZjmfFaults`] refuse logins,
//! expire tokens, answer HTML or broken JSON, hang, or accept a call and then
//! drop the connection. It is **plain HTTP on loopback only**.

mod auth;
mod cart;
mod cloud;
mod faults;
mod gateway;
mod host;
mod order;
mod params;
mod refund;
mod renew;
mod reply;
mod route;
mod store;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::harness::{self, NowMs, Running};
use store::{DAY_MS, Store, address_of};

pub use faults::ZjmfFaults;
pub use store::{HostStatus, OrderKind, OrderStatus, ReceivedZjmfRequest, ZjmfHost, ZjmfOrder};

/// How the fake is started.
#[derive(Clone)]
pub struct ZjmfFakeSettings {
    /// Port on 127.0.0.1; `0` picks a free port.
    pub port: u16,
    /// The application's clock: activation and due times follow it.
    pub now: NowMs,
    /// The reseller account's login name (its e-mail or phone at the upstream).
    pub username: String,
    /// The one API key (API密钥) the login accepts as its password.
    pub api_key: String,
    /// The reseller's prepaid balance, in fen (the API shows yuan).
    pub balance_fen: i64,
    /// Product id → price of one month, in fen.
    pub products: BTreeMap<u64, i64>,
    /// How long a paid host stays `Pending` before it is `Active` with an IP.
    pub activation_delay: Duration,
}

impl Default for ZjmfFakeSettings {
    fn default() -> Self {
        ZjmfFakeSettings {
            port: 0,
            now: harness::system_now(),
            username: "reseller@lantian.cn".to_owned(),
            api_key: "zjmf-fake-api-key-0123456789abcdef".to_owned(),
            balance_fen: 100_000,
            products: BTreeMap::from([(101, 3_000), (102, 9_900)]),
            activation_delay: Duration::from_millis(50),
        }
    }
}

/// State shared by the handlers and the [`ZjmfFake`] handle.
struct Shared {
    store: Mutex<Store>,
    faults: ZjmfFaults,
    now: NowMs,
    username: String,
    api_key: String,
    /// Cancelled when the fake stops, ending hung requests.
    stop: CancellationToken,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the store half-updated
        // in a way that matters to a fake; keep serving.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds a hung request until the fake stops (or an hour has passed).
    async fn hang(&self) {
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// A running ZJMF upstream fake. Dropping it stops the server.
pub struct ZjmfFake {
    shared: Arc<Shared>,
    server: Running,
    _stop: DropGuard,
}

impl ZjmfFake {
    /// Binds the port on 127.0.0.1 and starts serving.
    pub async fn start(settings: ZjmfFakeSettings) -> io::Result<ZjmfFake> {
        let stop = CancellationToken::new();
        let activation_ms = i64::try_from(settings.activation_delay.as_millis()).unwrap_or(i64::MAX);
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(settings.balance_fen, settings.products, activation_ms)),
            faults: ZjmfFaults::default(),
            now: settings.now,
            username: settings.username,
            api_key: settings.api_key,
            stop: stop.clone(),
        });
        let router = Router::new().fallback(gateway::handle).with_state(Arc::clone(&shared));
        let server = harness::serve_router_with_hang_up(settings.port, router).await?;
        tracing::info!(addr = %server.addr(), "ZJMF upstream fake started");
        Ok(ZjmfFake { shared, server, _stop: stop.drop_guard() })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The endpoint to configure a client with: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Every request received, oldest first (the newest 1000 are kept),
    /// refused and faulted ones included.
    pub fn requests(&self) -> Vec<ReceivedZjmfRequest> {
        self.shared.store().requests()
    }

    /// The hosts as they stand now (a paid host past its activation delay is
    /// `Active`).
    pub fn hosts(&self) -> Vec<ZjmfHost> {
        let mut store = self.shared.store();
        store.advance((self.shared.now)());
        store.hosts()
    }

    /// A host bought by hand in the account's client area, not through the reseller API:
    /// active at once with an address, with these client notes and no order of ours. Its id.
    pub fn add_host(&self, product_id: u64, client_notes: &str) -> u64 {
        let now = (self.shared.now)();
        let mut store = self.shared.store();
        let id = store.add_host(ZjmfHost {
            id: 0,
            order_id: 0,
            product_id,
            name: String::new(),
            status: HostStatus::Active,
            downstream_host_id: 0,
            downstream_token: String::new(),
            config_options: serde_json::json!({}),
            customfield: serde_json::json!({}),
            client_notes: client_notes.to_owned(),
            ip: None,
            power_on: true,
            months: 1,
            due_ms: now + 30 * DAY_MS,
            suspend_reason: String::new(),
            refunded: false,
            active_at_ms: None,
        });
        if let Some(host) = store.host_mut(id) {
            host.ip = Some(address_of(id));
        }
        id
    }

    pub fn orders(&self) -> Vec<ZjmfOrder> {
        self.shared.store().orders()
    }

    /// The reseller's balance, in fen.
    pub fn balance_fen(&self) -> i64 {
        self.shared.store().balance_fen
    }

    /// Sets the reseller's balance, in fen (low to make payments fail).
    pub fn set_balance(&self, fen: i64) {
        self.shared.store().balance_fen = fen;
    }

    /// The fault switches; they can be flipped at any time.
    pub fn faults(&self) -> &ZjmfFaults {
        &self.shared.faults
    }

    /// Ends hung requests, stops the server and waits until it has stopped.
    pub async fn shutdown(self) {
        let ZjmfFake { shared: _, server, _stop: stop } = self;
        drop(stop);
        server.shutdown().await;
    }
}
