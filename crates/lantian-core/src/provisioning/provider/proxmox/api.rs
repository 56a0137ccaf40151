//! The HTTP side of the Proxmox VE API: the token header, the `{"data": …}` envelope, and
//! every failure classified into a [`ProvError`] as research §4.2 says.

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::settings::ProxmoxSettings;
use crate::provisioning::provider::ProvError;

/// No parameters.
pub(super) const NONE: &[(&str, &str)] = &[];

/// An authenticated client of one cluster's API. Holds the token: no `Debug`.
pub(super) struct Api {
    http: reqwest::Client,
    /// `https://host:8006/api2/json`.
    base: String,
    /// `PVEAPIToken=user@realm!name=secret`: API tokens need no CSRF token and no ticket.
    authorization: String,
}

impl Api {
    pub(super) fn new(settings: &ProxmoxSettings) -> Result<Api, String> {
        let endpoint = settings.endpoint_url()?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(5)))
            // A redirect would carry the token to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("proxmox HTTP client: {e}"))?;
        Ok(Api {
            http,
            base: format!("{}/api2/json", endpoint.as_str().trim_end_matches('/')),
            authorization: format!("PVEAPIToken={}={}", settings.token_id, settings.token_secret),
        })
    }

    pub(super) async fn get<P: Serialize + ?Sized>(&self, path: &str, query: &P) -> Result<Value, ProvError> {
        self.call(Method::GET, path, query).await
    }

    pub(super) async fn post<P: Serialize + ?Sized>(&self, path: &str, form: &P) -> Result<Value, ProvError> {
        self.call(Method::POST, path, form).await
    }

    pub(super) async fn put<P: Serialize + ?Sized>(&self, path: &str, form: &P) -> Result<Value, ProvError> {
        self.call(Method::PUT, path, form).await
    }

    pub(super) async fn delete<P: Serialize + ?Sized>(&self, path: &str, query: &P) -> Result<Value, ProvError> {
        self.call(Method::DELETE, path, query).await
    }

    /// One call; `path` is below `/api2/json`, its variable parts already [`encode`]d. The
    /// answer's `data` (JSON `null` included) on success.
    async fn call<P: Serialize + ?Sized>(&self, method: Method, path: &str, params: &P) -> Result<Value, ProvError> {
        let request = self.http.request(method.clone(), format!("{}{path}", self.base));
        // Proxmox answers a body on GET or DELETE with 501: their parameters go in the query.
        let request =
            if matches!(method, Method::GET | Method::DELETE) { request.query(params) } else { request.form(params) };
        // Only a POST starts work that a repeat would start a second time (a clone above all);
        // a PUT (config, absolute resize) and a DELETE (of one vmid) can be repeated safely.
        let repeatable = method != Method::POST;
        let what = format!("{method} {path}");
        let res = request.header(AUTHORIZATION, &self.authorization).send().await;
        let res = res.map_err(|e| no_answer(&what, e, repeatable))?;
        let status = res.status();
        let reason = reason_phrase(&res);
        let body = res.bytes().await.map_err(|e| no_answer(&what, e, repeatable))?;
        // Proxmox always answers a JSON object, errors included; anything else is from a proxy.
        let json = serde_json::from_slice::<Value>(&body).ok().filter(Value::is_object);
        if status.is_success() {
            return match json.and_then(|mut j| j.get_mut("data").map(Value::take)) {
                Some(data) => Ok(data),
                None => Err(not_proxmox(&what, status, repeatable)),
            };
        }
        if json.is_none() && !repeatable && !matches!(status.as_u16(), 401 | 403) {
            return Err(not_proxmox(&what, status, repeatable));
        }
        Err(classify(&what, status, &reason, json.as_ref()))
    }
}

/// No answer came. A POST that was sent may have started its work: an unknown outcome; one
/// that never connected did nothing.
fn no_answer(what: &str, e: reqwest::Error, repeatable: bool) -> ProvError {
    let connected = !e.is_connect();
    // The address holds nothing secret, but `what` already names the call.
    let e = error_chain(&e.without_url());
    if repeatable || !connected {
        ProvError::Transient(format!("{what}: no answer: {e}"))
    } else {
        ProvError::UnknownOutcome(format!("{what}: sent, but no answer: {e}"))
    }
}

/// An answer that is not Proxmox's JSON (an HTML page from a proxy, say).
fn not_proxmox(what: &str, status: StatusCode, repeatable: bool) -> ProvError {
    let text = format!("{what}: HTTP {} with an answer that is not Proxmox's JSON", status.as_u16());
    if repeatable { ProvError::Transient(text) } else { ProvError::UnknownOutcome(text) }
}

/// Proxmox puts its error text in the HTTP reason phrase, and only from libpve-http-server-perl
/// 5.2.0 (2025) also in the body's `message`. reqwest exposes a custom reason phrase only
/// through `error_for_status_ref`, whose text is `HTTP status … error (500 <reason>)`.
fn reason_phrase(res: &Response) -> String {
    let Err(e) = res.error_for_status_ref() else { return String::new() };
    let shown = e.without_url().to_string();
    let inner = shown.split_once('(').map_or("", |(_, rest)| rest.strip_suffix(')').unwrap_or(rest));
    inner.split_once(' ').map_or(inner, |(_code, reason)| reason).to_string()
}

/// §4.2: credentials, then the texts that name the situation, then the status.
fn classify(what: &str, status: StatusCode, reason: &str, json: Option<&Value>) -> ProvError {
    let message = json.and_then(|j| j.get("message")).and_then(Value::as_str).map_or(reason, str::trim);
    let mut text = format!("{what}: HTTP {} {message}", status.as_u16());
    // A 400 names each refused parameter.
    if let Some(errors) = json.and_then(|j| j.get("errors")).and_then(Value::as_object) {
        for (param, error) in errors {
            text.push_str(&format!("; {param}: {}", error.as_str().unwrap_or_default().trim()));
        }
    }
    let lower = message.to_lowercase();
    match status.as_u16() {
        401 | 403 => ProvError::Auth(text),
        // "VM is locked (clone)", "can't lock file … - got timeout": another task holds the VM.
        _ if lower.contains("is locked") || lower.contains("got timeout") => ProvError::Transient(text),
        _ if lower.contains("does not exist") => ProvError::NotFound(text),
        _ if lower.contains("already exists") => ProvError::Conflict(text),
        _ if lower.contains("shrinking") => ProvError::Invalid(text),
        400..=499 => ProvError::Invalid(text),
        // 5xx, and the 59x pseudo-codes of a failed node-to-node forward.
        _ => ProvError::Transient(text),
    }
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

/// Percent-encodes everything but `A-Za-z0-9-_.!~*'()`: a path segment (node, UPID), and the
/// `urlencoded` format Proxmox demands of `sshkeys` (spaces as `%20`, never `+`).
pub(super) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A field as text, whether Proxmox sent it as a string or a number (both happen).
pub(super) fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A field as a number, whether sent as a number or a string.
pub(super) fn number(value: &Value, key: &str) -> Option<u64> {
    text(value, key)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn class(status: u16, body: Value) -> ProvError {
        classify("GET /x", StatusCode::from_u16(status).unwrap(), "Internal Server Error", Some(&body))
    }

    #[test]
    fn classifies_as_research_4_2_says() {
        let message = |m: &str| json!({"data": null, "message": m});
        assert!(matches!(class(401, message("invalid token")), ProvError::Auth(_)));
        assert!(matches!(class(403, message("Permission check failed")), ProvError::Auth(_)));
        assert!(matches!(class(500, message("VM is locked (clone)\n")), ProvError::Transient(_)));
        let lock = "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout";
        assert!(matches!(class(500, message(lock)), ProvError::Transient(_)));
        let missing = "Configuration file 'nodes/pve/qemu-server/101.conf' does not exist";
        assert!(matches!(class(500, message(missing)), ProvError::NotFound(_)));
        let exists = "unable to create VM 101: config file already exists";
        assert!(matches!(class(500, message(exists)), ProvError::Conflict(_)));
        assert!(matches!(class(500, message("shrinking disks is not supported")), ProvError::Invalid(_)));
        assert!(matches!(class(596, message("Connection timed out")), ProvError::Transient(_)));
        let refused =
            json!({"data": null, "errors": {"name": "invalid format - value does not look like a valid DNS name"}});
        let ProvError::Invalid(text) = class(400, refused) else { panic!("400 is invalid") };
        assert!(text.contains("name: invalid format"), "{text}");
    }

    #[test]
    fn encodes_as_proxmox_urlencoded_format_wants() {
        assert_eq!(encode("ssh-ed25519 AAAA+/=\nx"), "ssh-ed25519%20AAAA%2B%2F%3D%0Ax");
        assert_eq!(encode("UPID:pve:0001:a@b!c:"), "UPID%3Apve%3A0001%3Aa%40b!c%3A");
    }

    #[test]
    fn reads_ids_as_strings_or_numbers() {
        let row = json!({"vmid": "101", "maxmem": 2048, "name": "lc-1"});
        assert_eq!((number(&row, "vmid"), number(&row, "maxmem")), (Some(101), Some(2048)));
        assert_eq!((text(&row, "vmid").as_deref(), number(&row, "name")), (Some("101"), None));
    }

    /// Proxmox before 2025 names the error in the reason phrase only.
    #[tokio::test]
    async fn reads_the_error_from_the_reason_phrase() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = socket.read(&mut [0; 4096]).await;
            let reply = "HTTP/1.1 500 VM is locked (clone)\r\ncontent-length: 13\r\n\r\n{\"data\":null}";
            socket.write_all(reply.as_bytes()).await.unwrap();
        });
        let settings = ProxmoxSettings {
            endpoint: format!("http://{addr}"),
            token_id: "a@pve!b".into(),
            token_secret: "s".into(),
            ..ProxmoxSettings::default()
        };
        let err = Api::new(&settings).unwrap().get("/version", NONE).await.unwrap_err();
        assert_eq!(err, ProvError::Transient("GET /version: HTTP 500 VM is locked (clone)".into()));
    }
}
