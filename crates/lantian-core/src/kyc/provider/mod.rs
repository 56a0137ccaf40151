//! The real-name verification providers (实名认证服务商): one trait, two real protocol clients.
//!
//! - [`aliyun::AliyunCloudauth`]: Aliyun Cloudauth `Id2MetaVerify`, signed with the AccessKey
//!   (ACS3-HMAC-SHA256), the values in a signed form body.
//! - [`appcode::AppcodeMarket`]: a two-factor API sold on the Aliyun market, authorised by an
//!   AppCode, with configurable parameter names and reply mapping.
//!
//! Each provider receives exactly the name and the ID number (privacy policy C3.4), over
//! HTTPS. Neither value is ever logged, put into an error or shown by `Debug`: errors carry only
//! a short code, and no address or body.

pub mod aliyun;
pub mod appcode;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{RequestBuilder, StatusCode, Url};
use serde_json::Value;

use crate::clock::Clock;
use crate::config::{KycConfig, KycProvider};
use crate::{Error, Result};

/// What every provider receives, as the disclosure ledger names the fields.
pub const DISCLOSED_FIELDS: &[&str] = &["real_name", "id_number"];

#[async_trait]
pub trait RealNameProvider: Send + Sync {
    /// The recipient's name in the disclosure ledger.
    fn name(&self) -> &'static str;
    /// The fields it receives: always [`DISCLOSED_FIELDS`].
    fn disclosed_fields(&self) -> &'static [&'static str];
    /// Asks whether `name` and `id_number` belong together. Never fails: trouble is a
    /// [`Verdict::ProviderError`].
    async fn verify(&self, name: &str, id_number: &str) -> Verdict;
}

/// A provider's answer. Only [`Verdict::Match`] verifies a customer; everything else leaves
/// the account unverified. `request_id` is the provider's reference for the call (empty when
/// it gives none), kept for disputes with the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The name and the number belong together (一致).
    Match { request_id: String },
    /// The number exists under another name (不一致).
    Mismatch { request_id: String },
    /// The authority has no record of the number (查无记录).
    NotFound { request_id: String },
    /// No usable answer. `code` is for staff ("timeout", "garbage", "http-403", "aliyun-410" ...);
    /// `retryable` when asking again later may succeed, false when configuration or the account
    /// at the provider must be fixed first.
    ProviderError { code: String, retryable: bool },
}

impl Verdict {
    /// The one verdict that verifies.
    pub fn is_match(&self) -> bool {
        matches!(self, Verdict::Match { .. })
    }

    fn error(code: impl Into<String>, retryable: bool) -> Verdict {
        Verdict::ProviderError { code: code.into(), retryable }
    }

    /// The answer could not be read, or said something we do not know.
    fn garbage() -> Verdict {
        Verdict::error("garbage", true)
    }
}

/// The provider `[kyc]` configures, or `None` when `provider = "none"`.
pub fn from_config(cfg: &KycConfig, clock: Arc<dyn Clock>) -> Result<Option<Arc<dyn RealNameProvider>>> {
    Ok(match cfg.provider {
        KycProvider::None => None,
        KycProvider::Aliyun => Some(Arc::new(aliyun::AliyunCloudauth::new(cfg, clock)?)),
        KycProvider::Appcode => Some(Arc::new(appcode::AppcodeMarket::new(cfg)?)),
    })
}

/// The HTTP client of both providers: rustls, the configured time-out, and no redirects (one
/// would carry the name and number to wherever it points).
fn http_client(cfg: &KycConfig) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(cfg.timeout_secs))
        .connect_timeout(Duration::from_secs(cfg.timeout_secs.min(5)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Internal(e.into()))
}

/// `kyc.endpoint`, parsed (start-up validation has checked its scheme and host).
fn endpoint(cfg: &KycConfig) -> Result<Url> {
    Url::parse(&cfg.endpoint).map_err(|e| Error::Internal(anyhow::anyhow!("kyc.endpoint: {e}")))
}

/// A provider's answer as it arrived.
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    /// The body, when it is a JSON object.
    json: Option<Value>,
}

/// Sends `request`. A time-out, a failed connection or an HTTP 5xx is a retryable error; any
/// other answer is the caller's to read.
async fn send(provider: &'static str, request: RequestBuilder) -> Result<Reply, Verdict> {
    let res = request.send().await.map_err(|e| call_failed(provider, e))?;
    let status = res.status();
    if status.is_server_error() {
        return Err(Verdict::error(format!("http-{}", status.as_u16()), true));
    }
    let headers = res.headers().clone();
    let body = res.bytes().await.map_err(|e| call_failed(provider, e))?;
    let json = serde_json::from_slice(&body).ok().filter(Value::is_object);
    Ok(Reply { status, headers, json })
}

fn call_failed(provider: &'static str, e: reqwest::Error) -> Verdict {
    // Without the address: a GET to a market API carries the name and number in it.
    let e = e.without_url();
    let code = if e.is_timeout() { "timeout" } else { "unreachable" };
    tracing::warn!(provider, code, error = %error_chain(&e), "real-name provider call failed");
    Verdict::error(code, true)
}

/// The error and its causes: reqwest's own text hides the interesting part in `source()`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The string or number at `pointer`, as text (sellers write `"code": 0` and `"code": "0"`).
fn text_at(json: &Value, pointer: &str) -> Option<String> {
    match json.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
