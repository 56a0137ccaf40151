//! What V1 and V2 share: the merchant id, our callback addresses, the HTTP client, and the
//! reading of the gateway's JSON answers.
//!
//! No address is ever logged or put into an error: the V1 query carries the merchant key in
//! its query string.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{RequestBuilder, Url};
use serde_json::{Map, Value};

use crate::config::PaymentsConfig;
use crate::money;
use crate::payments::gateway::{GatewayError, PayRequest, TradeStatus};
use crate::{Error, Result};

pub type Params = BTreeMap<String, String>;
pub type Answer = Map<String, Value>;

pub struct Common {
    http: reqwest::Client,
    base: Url,
    pub pid: String,
    notify_url: String,
    return_url: String,
    pub public_ip: String,
}

impl Common {
    pub fn new(cfg: &PaymentsConfig, public_url: &str) -> Result<Common> {
        let base = Url::parse(&cfg.base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.path().ends_with('/') && u.query().is_none())
            .ok_or_else(|| config_error("payments.base_url must be http(s)://… ending with /"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .connect_timeout(Duration::from_secs(cfg.timeout_secs.min(5)))
            // An API call has no business being redirected; following one would carry the V1
            // key to wherever the gateway points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Internal(e.into()))?;
        let site = public_url.trim_end_matches('/');
        Ok(Common {
            http,
            base,
            pid: cfg.pid.clone(),
            notify_url: format!("{site}/pay/coopay/notify"),
            return_url: format!("{site}/pay/coopay/return"),
            public_ip: cfg.public_ip.clone(),
        })
    }

    /// An address below the base URL, resolved once at start.
    pub fn endpoint(&self, path: &str) -> Result<Url> {
        self.base.join(path).map_err(|e| config_error(&format!("payments.base_url: {e}")))
    }

    /// The parameters every payment start sends, before signing.
    pub fn start_params(&self, req: &PayRequest) -> Params {
        [
            ("pid", self.pid.clone()),
            ("type", req.channel.as_str().to_string()),
            ("out_trade_no", req.out_trade_no.clone()),
            ("notify_url", self.notify_url.clone()),
            ("return_url", self.return_url.clone()),
            ("name", req.product_name.clone()),
            ("money", money::format_yuan(req.amount_fen)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub async fn get(&self, url: &Url, query: &Params) -> Result<Answer, GatewayError> {
        answer(self.http.get(url.clone()).query(query)).await
    }

    /// POSTs a form; `query` stays in the address (V1's `act=`).
    pub async fn post(&self, url: &Url, query: &[(&str, &str)], form: &Params) -> Result<Answer, GatewayError> {
        answer(self.http.post(url.clone()).query(query).form(form)).await
    }
}

/// The browser address for a signed payment start.
pub fn with_query(url: &Url, params: &Params) -> String {
    let mut url = url.clone();
    url.query_pairs_mut().extend_pairs(params);
    url.into()
}

fn config_error(msg: &str) -> Error {
    Error::Internal(anyhow::anyhow!("{msg}"))
}

async fn answer(request: RequestBuilder) -> Result<Answer, GatewayError> {
    let res = request.send().await.map_err(cannot_reach)?;
    let status = res.status();
    let body = res.text().await.map_err(cannot_reach)?;
    if !status.is_success() {
        return Err(GatewayError::Refused(format!("HTTP {status}")));
    }
    match serde_json::from_str(&body) {
        Ok(Value::Object(answer)) => Ok(answer),
        _ => Err(GatewayError::BadAnswer("not a JSON object".into())),
    }
}

/// The error and its causes, without the address.
fn cannot_reach(e: reqwest::Error) -> GatewayError {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    GatewayError::Unreachable(text)
}

/// `code` as a JSON integer. A string such as `"error"` (or even `"1"`) is no success code.
pub fn code(answer: &Answer) -> Option<i64> {
    answer.get("code").and_then(Value::as_i64)
}

/// The gateway's explanation, for a `Refused`.
pub fn msg(answer: &Answer) -> String {
    text(answer, "msg").unwrap_or_else(|| format!("code {}", answer.get("code").unwrap_or(&Value::Null)))
}

/// A scalar field as the gateway's PHP prints it: numbers bare, `true` as `1`, `false` and
/// `null` empty. Arrays and objects are no field.
pub fn text(answer: &Answer, key: &str) -> Option<String> {
    match answer.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("1".into()),
        Value::Bool(false) | Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// Every scalar field of an answer, to check its signature over.
pub fn params_of(answer: &Answer) -> Params {
    answer.keys().filter_map(|k| Some((k.clone(), text(answer, k)?))).collect()
}

/// A found order (`code` already checked): `status` 1 is paid, anything else is not.
pub fn trade_status(answer: &Answer, out_trade_no: &str) -> Result<TradeStatus, GatewayError> {
    let bad = |what: &str| GatewayError::BadAnswer(format!("order query: {what}"));
    let trade_no = text(answer, "trade_no").filter(|t| !t.is_empty()).ok_or_else(|| bad("no trade_no"))?;
    if text(answer, "out_trade_no").as_deref() != Some(out_trade_no) {
        return Err(bad("another out_trade_no"));
    }
    let amount_fen = text(answer, "money").and_then(|m| money::parse_yuan(&m)).ok_or_else(|| bad("bad money"))?;
    Ok(TradeStatus {
        trade_no,
        out_trade_no: out_trade_no.to_string(),
        amount_fen,
        paid: text(answer, "status").as_deref() == Some("1"),
    })
}
