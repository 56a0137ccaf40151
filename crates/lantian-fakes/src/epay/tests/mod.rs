//! End-to-end tests of the EPay fake over HTTP: reqwest plays the
//! merchant's client, and a small axum server its notification endpoint.
//! Requests are signed with the fake's own signing functions, which
//! `signing.rs` pins to the research note's vectors.

mod cashier;
mod faults;
mod notify;
mod v1;
mod v2;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::Value;

use super::rsa_keys::{RsaKeyPair, parse_public_key, verify};
use super::signing::{KeyStyle, content, md5_sign};
use super::{EpayFake, EpayFakeSettings};
use crate::harness::{self, Running};

/// 2025-01-01T00:00:00Z, where the tests' clock starts.
const NOW_MS: i64 = 1_735_689_600_000;
const KEY: &str = "LantianTestKey123";

type Fields = BTreeMap<String, String>;

pub(crate) struct Keys {
    pub platform: RsaKeyPair,
    pub merchant: RsaKeyPair,
}

/// Generated once per test binary: RSA key generation is slow unoptimised.
pub(crate) fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        platform: RsaKeyPair::generate(2048).unwrap(),
        merchant: RsaKeyPair::generate(2048).unwrap(),
    })
}

/// A fake on a clock the test can move, retrying notifications on a
/// millisecond schedule, with the merchant's V2 key configured.
async fn start() -> (EpayFake, Arc<AtomicI64>) {
    start_with(KeyStyle::Appended).await
}

async fn start_with(key_style: KeyStyle) -> (EpayFake, Arc<AtomicI64>) {
    let clock = Arc::new(AtomicI64::new(NOW_MS));
    let now = Arc::clone(&clock);
    let fake = EpayFake::start(EpayFakeSettings {
        now: Arc::new(move || now.load(Ordering::SeqCst)),
        key_style,
        platform_key: Some(keys().platform.clone()),
        notify_retry_unit: Duration::from_millis(1),
        ..EpayFakeSettings::default()
    })
    .await
    .unwrap();
    fake.set_merchant_public_key_pem(&keys().merchant.public_key_pem()).unwrap();
    (fake, clock)
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// An order's fields as a merchant sends them, unsigned; `notify_url`
/// points at `merchant` (or nowhere useful when `None`).
fn order_fields(out_trade_no: &str, notify: Option<SocketAddr>) -> Fields {
    let notify_url = notify.map_or("http://127.0.0.1:9/notify".to_owned(), |addr| format!("http://{addr}/notify"));
    let mut order = fields(&[
        ("pid", "1001"),
        ("type", "alipay"),
        ("out_trade_no", out_trade_no),
        ("return_url", "https://portal.example.com/pay/return"),
        ("name", "VPS-1C1G"),
        ("money", "12.50"),
    ]);
    order.insert("notify_url".into(), notify_url);
    order
}

fn with(mut fields: Fields, pairs: &[(&str, &str)]) -> Fields {
    for (k, v) in pairs {
        fields.insert((*k).to_owned(), (*v).to_owned());
    }
    fields
}

/// V1: adds `sign_type` = MD5 and the signature.
fn md5_signed(fields: Fields) -> Fields {
    let mut fields = with(fields, &[("sign_type", "MD5")]);
    let sign = md5_sign(&fields, KEY, KeyStyle::Appended);
    fields.insert("sign".into(), sign);
    fields
}

/// V2: adds the timestamp (at `now_ms`), `sign_type` = RSA and the
/// merchant's signature.
fn rsa_signed(fields: Fields, now_ms: i64) -> Fields {
    let timestamp = (now_ms / 1000).to_string();
    let mut fields = with(fields, &[("timestamp", &timestamp), ("sign_type", "RSA")]);
    let sign = keys().merchant.sign(&content(&fields));
    fields.insert("sign".into(), sign);
    fields
}

/// A client that does not follow redirects, so tests see them.
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn post(fake: &EpayFake, path: &str, form: &Fields) -> reqwest::Response {
    client().post(format!("{}{path}", fake.base_url())).form(form).send().await.unwrap()
}

/// Posts the form and returns the JSON body, checking it is HTTP 200 JSON.
async fn post_json(fake: &EpayFake, path: &str, form: &Fields) -> Value {
    json_of(post(fake, path, form).await).await
}

async fn get_json(fake: &EpayFake, path: &str, query: &Fields) -> Value {
    json_of(client().get(format!("{}{path}", fake.base_url())).query(query).send().await.unwrap()).await
}

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    response.json().await.unwrap()
}

/// A V1 refusal (`code` -1); returns its message.
fn refused(body: &Value) -> String {
    assert_eq!(body["code"], -1, "{body}");
    body["msg"].as_str().unwrap().to_owned()
}

/// Checks a V2 success reply's platform signature; returns it as fields.
fn verified_v2(body: &Value) -> Fields {
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["sign_type"], "RSA");
    let signed = super::reply::signed_fields(body.as_object().unwrap());
    let platform = parse_public_key(&keys().platform.public_key_pem()).unwrap();
    assert!(verify(&platform, &content(&signed), body["sign"].as_str().unwrap()), "{body}");
    signed
}

/// Creates a V1 order through `mapi.php`; returns its trade number.
async fn create_v1(fake: &EpayFake, out_trade_no: &str, notify: Option<SocketAddr>) -> String {
    let form = md5_signed(with(order_fields(out_trade_no, notify), &[("clientip", "203.0.113.7")]));
    let body = post_json(fake, "mapi.php", &form).await;
    assert_eq!(body["code"], 1, "{body}");
    body["trade_no"].as_str().unwrap().to_owned()
}

/// Polls `done` every 5 ms for up to five seconds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

type Answer = Arc<dyn Fn(usize, &Fields) -> String + Send + Sync>;

/// The merchant's notification endpoint (`GET /notify`): records the
/// fields of each call and answers what `answer(call index, fields)` says.
struct MerchantServer {
    received: Arc<Mutex<Vec<Fields>>>,
    running: Running,
}

impl MerchantServer {
    async fn start(answer: impl Fn(usize, &Fields) -> String + Send + Sync + 'static) -> MerchantServer {
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer: Answer = Arc::new(answer);
        let router = axum::Router::new()
            .route(
                "/notify",
                get(
                    |State((received, answer)): State<(Arc<Mutex<Vec<Fields>>>, Answer)>,
                     Query(fields): Query<Fields>| async move {
                        let index = {
                            let mut received = received.lock().unwrap();
                            received.push(fields.clone());
                            received.len() - 1
                        };
                        answer(index, &fields)
                    },
                ),
            )
            .with_state((Arc::clone(&received), answer));
        MerchantServer { received, running: harness::serve_router(0, router).await.unwrap() }
    }

    /// One that acknowledges everything.
    async fn acknowledging() -> MerchantServer {
        MerchantServer::start(|_, _| "success".to_owned()).await
    }

    fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    fn received(&self) -> Vec<Fields> {
        self.received.lock().unwrap().clone()
    }
}
