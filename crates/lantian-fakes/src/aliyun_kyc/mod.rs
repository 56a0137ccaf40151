//! A fake of the two real-name verification (实名认证) services Lantian can
//! use, on one port, relative to [`AliyunKycFake::base_url`]:
//!
//! - **Aliyun Cloudauth** `Id2MetaVerify` (API version 2019-03-07) at `/`,
//!   GET or POST: RPC parameters `ParamType=normal`, `IdentifyNum` and
//!   `UserName` in the query string or an `application/x-www-form-urlencoded`
//!   body, signed with Aliyun's V3 signature (`ACS3-HMAC-SHA256`). The
//!   gateway's checks are made — action and version, a date within 15 minutes
//!   of the fake's clock, the AccessKey, the body hash, the signature,
//!   single-use nonces — and refused with the gateway's HTTP statuses and
//!   codes (`SignatureDoesNotMatch` is HTTP 400). Answers are HTTP 200 with
//!   `Code` "200" and `ResultObject.BizCode`, or another `Code` (400 empty
//!   parameter, 401 illegal parameter).
//! - **An Aliyun market APPCODE seller** in 数脉's shape at
//!   [`AliyunKycFakeSettings::market_path`] (default `/eid/check`), GET or
//!   POST (form): `name` and `idcard`, header `Authorization: APPCODE <code>`
//!   (HTTP 401 with `X-Ca-Error-Message` and no body when missing or wrong).
//!   Answers are HTTP 200 with an `X-Ca-Request-Id` header and
//!   `{"code":"0","message":"成功","result":{"res":"1","description":"一致",
//!   "sex":…,"birthday":…}}`, or `{"code":"400",…}` for a missing or
//!   malformed parameter.
//!
//! Outcomes are deterministic, for the demo and the tests, checked in this
//! order (a number is structurally valid when it has 17 digits and the GB
//! 11643 check character):
//!
//! | name        | ID number                            | Cloudauth  | market         |
//! |-------------|--------------------------------------|------------|----------------|
//! | empty       | any                                  | `Code` 400 | code 400       |
//! | any         | empty                                | `Code` 400 | code 400       |
//! | any         | not structurally valid               | `Code` 401 | code 400       |
//! | 赵六        | valid                                | BizCode 3  | res 3 无记录   |
//! | any         | valid, sequence digits (15–17) "999" | BizCode 3  | res 3 无记录   |
//! | 王五        | valid                                | BizCode 2  | res 2 不一致   |
//! | anyone else | valid (e.g. `110101190001010014`)    | BizCode 1  | res 1 一致     |
//!
//! (Cloudauth also answers `Code` 400 without `ParamType`, 401 when it is
//! not `normal`.)
//!
//! Every request is recorded with the parameter names and values it carried
//! in its query string and in its body, and its header names
//! ([`AliyunKycFake::requests`]), so tests can prove a client sends the name
//! and the number and nothing else. [`KycFaults`] makes the next request hang,
//! answer garbage or answer an error. It is **plain HTTP on loopback only**.

mod cloudauth;
mod faults;
mod market;
mod outcome;
mod params;
mod reply;
mod store;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::any;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::aliyun_gateway::Credentials;
use crate::harness::{self, NowMs, Running};
use faults::Fault;
use params::Parts;
use reply::RequestIds;
use store::Store;

pub use faults::KycFaults;
pub use store::{KycApi, ReceivedKycRequest};

/// How the fake is started.
#[derive(Clone)]
pub struct AliyunKycFakeSettings {
    /// Port on 127.0.0.1; `0` picks a free port.
    pub port: u16,
    /// The application's clock, which signed dates are checked against.
    pub now: NowMs,
    /// The one AccessKey pair Cloudauth accepts.
    pub access_key_id: String,
    pub access_key_secret: String,
    /// The one AppCode the market seller accepts.
    pub appcode: String,
    /// Where the market seller's API is, starting with `/`.
    pub market_path: String,
}

impl Default for AliyunKycFakeSettings {
    fn default() -> Self {
        AliyunKycFakeSettings {
            port: 0,
            now: harness::system_now(),
            access_key_id: "LTAIfakeKycAccessKeyId".to_owned(),
            access_key_secret: "fakeKycAccessKeySecret".to_owned(),
            appcode: "0123456789abcdef0123456789abcdef".to_owned(),
            market_path: "/eid/check".to_owned(),
        }
    }
}

/// State shared by the handlers and the [`AliyunKycFake`] handle.
struct Shared {
    store: Mutex<Store>,
    faults: KycFaults,
    request_ids: RequestIds,
    now: NowMs,
    credentials: Credentials,
    appcode: String,
    /// Cancelled when the fake stops, ending hung requests.
    stop: CancellationToken,
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the store half-updated
        // in a way that matters to a fake; keep serving.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a request and takes the fault armed for it, if any.
    fn receive(&self, api: KycApi, method: &Method, uri: &Uri, headers: &HeaderMap, parts: &Parts) -> Option<Fault> {
        let mut header_names: Vec<String> = headers.keys().map(|name| name.as_str().to_owned()).collect();
        header_names.sort_unstable();
        header_names.dedup();
        self.store().record(ReceivedKycRequest {
            api,
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: parts.query.clone().unwrap_or_default(),
            form: parts.form.clone().unwrap_or_default(),
            header_names,
            received_at_ms: (self.now)(),
        });
        self.faults.take()
    }

    /// Holds a hung request until the fake stops (or an hour has passed).
    async fn hang(&self) {
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// A running real-name verification fake. Dropping it stops the server.
pub struct AliyunKycFake {
    shared: Arc<Shared>,
    server: Running,
    _stop: DropGuard,
}

impl AliyunKycFake {
    /// Binds the port on 127.0.0.1 and starts serving.
    pub async fn start(settings: AliyunKycFakeSettings) -> io::Result<AliyunKycFake> {
        if !settings.market_path.starts_with('/') || settings.market_path == "/" {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "market_path must start with / and not be /"));
        }
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            faults: KycFaults::default(),
            request_ids: RequestIds::new(),
            now: settings.now,
            credentials: Credentials {
                access_key_id: settings.access_key_id,
                access_key_secret: settings.access_key_secret,
            },
            appcode: settings.appcode,
            stop: stop.clone(),
        });
        let router = Router::new()
            .route("/", any(cloudauth::handle))
            .route(&settings.market_path, any(market::handle))
            .with_state(Arc::clone(&shared));
        let server = harness::serve_router(settings.port, router).await?;
        tracing::info!(addr = %server.addr(), "Aliyun real-name verification fake started");
        Ok(AliyunKycFake { shared, server, _stop: stop.drop_guard() })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The endpoint to configure a client with: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Every request received on either API, oldest first (the newest 1000
    /// are kept), refused and faulted ones included.
    pub fn requests(&self) -> Vec<ReceivedKycRequest> {
        self.shared.store().requests()
    }

    /// The fault switches; they can be flipped at any time.
    pub fn faults(&self) -> &KycFaults {
        &self.shared.faults
    }

    /// Ends hung requests, stops the server and waits until it has stopped.
    pub async fn shutdown(self) {
        let AliyunKycFake { shared: _, server, _stop: stop } = self;
        drop(stop);
        server.shutdown().await;
    }
}
