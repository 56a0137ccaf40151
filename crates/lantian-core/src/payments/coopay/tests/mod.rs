//! The client as billing uses it: built from configuration, checking notifications, and
//! calling a gateway that is a few lines of TCP here (the full EPay fake lives in
//! `lantian-fakes`).

mod calls;
mod verify;

use std::sync::{Arc, Mutex};

use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::client::Params;
use super::from_config;
use super::sign::RsaKeys;
use super::sign::tests::{KEY, MERCHANT_PRIVATE, MERCHANT_PUBLIC, PLATFORM_PRIVATE, PLATFORM_PUBLIC};
use crate::UnixMs;
use crate::config::{EpayKeyStyle, EpayVersion, PaymentsConfig, PaymentsProvider, Secret};
use crate::payments::gateway::{Channel, PayRequest, PaymentGateway};

/// 2025-01-01T00:00:00Z.
const NOW: UnixMs = UnixMs(1_735_689_600_000);
const SITE: &str = "http://127.0.0.1:8080";
const PUBLIC_IP: &str = "203.0.113.7";

fn config(version: EpayVersion, base_url: &str) -> PaymentsConfig {
    PaymentsConfig {
        provider: PaymentsProvider::Coopay,
        base_url: base_url.into(),
        version,
        pid: "1001".into(),
        key: Secret::new(KEY),
        key_file: String::new(),
        key_style: EpayKeyStyle::Append,
        merchant_private_key: Secret::new(MERCHANT_PRIVATE),
        merchant_private_key_file: String::new(),
        platform_public_key: PLATFORM_PUBLIC.into(),
        public_ip: PUBLIC_IP.into(),
        timeout_secs: 5,
        timestamp_window_secs: 300,
    }
}

fn gateway(cfg: &PaymentsConfig) -> Arc<dyn PaymentGateway> {
    from_config(cfg, SITE).unwrap().unwrap()
}

fn v1() -> Arc<dyn PaymentGateway> {
    gateway(&config(EpayVersion::V1, "https://pay.example.com/"))
}

fn v2() -> Arc<dyn PaymentGateway> {
    gateway(&config(EpayVersion::V2, "https://pay.example.com/"))
}

/// The gateway's side of V2: signs with the platform key, checks with ours.
fn platform() -> RsaKeys {
    RsaKeys::new(PLATFORM_PRIVATE, MERCHANT_PUBLIC).unwrap()
}

fn request() -> PayRequest {
    PayRequest {
        out_trade_no: "LT20250101000001".into(),
        amount_fen: 1250,
        product_name: "云服务器续费".into(),
        channel: Channel::Wxpay,
    }
}

/// Parameters of a query string or form body, decoded.
fn decode(query: &str) -> Params {
    Url::parse(&format!("http://x/?{query}")).unwrap().query_pairs().into_owned().collect()
}

/// One request a [`serve`] gateway received.
#[derive(Debug, Clone)]
struct Seen {
    /// `GET /api.php?act=order&…`
    line: String,
    body: String,
}

/// A gateway that answers each connection with the next (status, body) and records what it
/// was sent.
async fn serve(replies: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, body) in replies {
            let (mut sock, _) = listener.accept().await.unwrap();
            let raw = read_request(&mut sock).await;
            let (head, req_body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
            let line = head.lines().next().unwrap_or_default().to_string();
            log.lock().unwrap().push(Seen { line, body: req_body.to_string() });
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    (base, seen)
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.unwrap();
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .map_or(0, |v| v.parse::<usize>().unwrap());
            if body.len() >= len {
                return text;
            }
        }
        if n == 0 {
            return text;
        }
    }
}
