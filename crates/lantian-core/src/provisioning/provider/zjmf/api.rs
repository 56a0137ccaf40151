//! Calls to the upstream and what their answers mean.
//!
//! ZJMF answers HTTP 200 with `{status, msg, data}`: 200 done, 400 refused (the `msg` says
//! why), 401/405 not logged in. Anything else on the wire (no connection, a time-out, another
//! HTTP status, HTML, broken JSON) is a network failure: retry later — unless it follows a call
//! that may have bought something, whose outcome is then unknown (§4.2).

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use super::ZjmfSettings;
use super::session::Session;
use crate::provisioning::provider::ProvError;

/// Whether sending a call twice could do its work twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    /// Reads, and changes that end in the same state however often they are sent.
    Repeatable,
    /// Settling an order, paying, renewing: a lost answer leaves the outcome unknown.
    Once,
}

/// A ZJMF answer: the body's status and message, and the whole body.
pub(super) struct Reply {
    pub status: i64,
    pub msg: String,
    pub body: Value,
}

impl Reply {
    /// The body of a success; otherwise the refusal, classified.
    pub fn ok(self) -> Result<Value, ProvError> {
        if self.status == 200 { Ok(self.body) } else { Err(classify(self.status, &self.msg)) }
    }

    /// The `data` of a success (`Null` when it has none).
    pub fn data(self) -> Result<Value, ProvError> {
        Ok(self.ok()?.get_mut("data").map(Value::take).unwrap_or(Value::Null))
    }
}

/// Words of ZJMF's messages (Chinese, or English when the upstream's language is) that tell a
/// refusal's cause: the status is 400 for all of them.
const NOT_FOUND: [&str; 3] = ["不存在", "not exist", "not found"];
const EXHAUSTED: [&str; 4] = ["余额不足", "库存不足", "insufficient", "not enough"];

fn classify(status: i64, msg: &str) -> ProvError {
    let text = format!("status {status}: {msg}");
    let says = |words: &[&str]| words.iter().any(|w| msg.to_lowercase().contains(w));
    match status {
        400 if says(&NOT_FOUND) => ProvError::NotFound(text),
        400 if says(&EXHAUSTED) => ProvError::Exhausted(text),
        401 | 403 | 405 => ProvError::Auth(text),
        500.. => ProvError::Transient(text),
        _ => ProvError::Invalid(text),
    }
}

/// The upstream's client API, logged in.
pub(super) struct Api {
    http: reqwest::Client,
    /// The endpoint without a trailing `/`.
    base: String,
    session: Session,
}

impl Api {
    pub fn new(settings: &ZjmfSettings) -> Result<Api, String> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            // An API does not redirect; following one would carry the JWT elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("zjmf: cannot build the HTTP client: {e}"))?;
        let base = settings.endpoint.trim_end_matches('/').to_owned();
        Ok(Api { http, base, session: Session::new(&settings.username, settings.api_key.clone()) })
    }

    /// Logs in afresh (checking the credentials) and makes one authorised read.
    pub async fn test_login(&self) -> Result<(), ProvError> {
        self.session.fresh(&self.http, &self.base).await?;
        self.get("/console/v1/host", &[("page", "1".into()), ("limit", "1".into())]).await.map(drop)
    }

    /// A read: the `data` of its answer.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ProvError> {
        self.call(Method::GET, path, Params::Query(query), Effect::Repeatable).await?.data()
    }

    /// A change, with a JSON body; the answer is the caller's to read.
    pub async fn send(&self, method: Method, path: &str, body: Value, effect: Effect) -> Result<Reply, ProvError> {
        self.call(method, path, Params::Json(&body), effect).await
    }

    /// Sends with the cached JWT; on "not logged in", logs in again and sends once more (the
    /// refusal came before the call was carried out, so sending again is safe).
    async fn call(&self, method: Method, path: &str, params: Params<'_>, effect: Effect) -> Result<Reply, ProvError> {
        let mut jwt = self.session.jwt(&self.http, &self.base).await?;
        let mut renewed = false;
        loop {
            let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&jwt);
            request = match params {
                Params::Query(query) => request.query(query),
                Params::Json(body) => request.json(body),
            };
            let reply = exchange(request, path, effect).await?;
            if !matches!(reply.status, 401 | 405) {
                return Ok(reply);
            }
            if renewed {
                return Err(ProvError::Auth(format!("{path}: still not logged in after a new login: {}", reply.msg)));
            }
            tracing::info!(path, "zjmf: the upstream ended our login; logging in again");
            jwt = self.session.renew(&jwt, &self.http, &self.base).await?;
            renewed = true;
        }
    }
}

#[derive(Clone, Copy)]
enum Params<'a> {
    Query(&'a [(&'a str, String)]),
    Json(&'a Value),
}

/// Sends `request` and reads ZJMF's envelope.
pub(super) async fn exchange(request: RequestBuilder, path: &str, effect: Effect) -> Result<Reply, ProvError> {
    let res = request.send().await.map_err(|e| transport(path, effect, &e))?;
    if res.status() != reqwest::StatusCode::OK {
        return Err(unreadable(path, effect, &format!("HTTP {}", res.status().as_u16())));
    }
    let bytes = res.bytes().await.map_err(|e| transport(path, effect, &e))?;
    let body: Value = serde_json::from_slice(&bytes)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| unreadable(path, effect, "an answer that is not JSON"))?;
    let status =
        body.get("status").and_then(int).ok_or_else(|| unreadable(path, effect, "an answer without status"))?;
    // Bounded: it goes into errors that staff read, and only the start says anything.
    let msg = body.get("msg").and_then(Value::as_str).unwrap_or("").chars().take(200).collect();
    Ok(Reply { status, msg, body })
}

/// A number, written as a number or as digits (ZJMF writes both).
pub(super) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn transport(path: &str, effect: Effect, e: &reqwest::Error) -> ProvError {
    let mut detail = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        detail.push_str(": ");
        detail.push_str(&c.to_string());
        cause = c.source();
    }
    if e.is_connect() {
        // Nothing reached the upstream.
        return ProvError::Transient(format!("{path}: cannot connect: {detail}"));
    }
    unreadable(path, effect, &detail)
}

fn unreadable(path: &str, effect: Effect, what: &str) -> ProvError {
    match effect {
        Effect::Repeatable => ProvError::Transient(format!("{path}: {what}")),
        Effect::Once => ProvError::UnknownOutcome(format!("{path}: sent, then {what}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_classified_by_status_and_message() {
        assert_eq!(classify(400, "产品不存在"), ProvError::NotFound("status 400: 产品不存在".into()));
        assert!(matches!(classify(400, "余额不足,请先充值"), ProvError::Exhausted(_)));
        assert!(matches!(classify(400, "Insufficient credit"), ProvError::Exhausted(_)));
        assert!(matches!(classify(400, "商品配置错误"), ProvError::Invalid(_)));
        assert!(matches!(classify(405, "未授权"), ProvError::Auth(_)));
        assert!(matches!(classify(500, "系统错误"), ProvError::Transient(_)));
        assert!(matches!(unreadable("/console/v1/pay", Effect::Once, "HTTP 502"), ProvError::UnknownOutcome(_)));
        assert!(matches!(unreadable("/console/v1/host", Effect::Repeatable, "HTTP 502"), ProvError::Transient(_)));
        assert_eq!((int(&"12".into()), int(&12.into()), int(&Value::Null)), (Some(12), Some(12), None));
    }
}
