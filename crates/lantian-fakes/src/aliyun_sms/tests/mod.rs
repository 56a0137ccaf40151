//! End-to-end tests of the Aliyun SMS fake over HTTP.
//!
//! Requests are signed by a tiny client built on the fake's own canonical
//! form, which `signature.rs` pins to Aliyun's published vectors; tests that
//! expect a refusal tamper with a correctly signed request.

mod auth;
mod business;
mod faults;
mod web;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde_json::Value;

use super::{AliyunSmsFake, AliyunSmsFakeOptions};
use crate::aliyun_gateway::signature::{self, RequestParts};
use crate::utc;

/// 2025-01-01T00:00:00Z, where the tests' clock starts.
const NOW_MS: i64 = 1_735_689_600_000;

/// A fake on a clock the test can move.
async fn start() -> (AliyunSmsFake, Arc<AtomicI64>) {
    let clock = Arc::new(AtomicI64::new(NOW_MS));
    let now = Arc::clone(&clock);
    let fake = AliyunSmsFake::start(AliyunSmsFakeOptions {
        now: Arc::new(move || now.load(Ordering::SeqCst)),
        ..AliyunSmsFakeOptions::default()
    })
    .await
    .unwrap();
    (fake, clock)
}

/// A SendSms call as a correct client would make it, every part changeable.
#[derive(Clone)]
struct Call {
    params: Vec<(String, String)>,
    access_key_id: String,
    secret: String,
    date_ms: i64,
    nonce: String,
    action: String,
    version: String,
}

impl Call {
    /// An SMS with the default options' credentials and template `SMS_900000001`.
    fn sms(phone_numbers: &str) -> Call {
        Call::default().param("PhoneNumbers", phone_numbers)
    }

    fn param(mut self, name: &str, value: &str) -> Call {
        self.params.retain(|(n, _)| n != name);
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }

    fn without(mut self, name: &str) -> Call {
        self.params.retain(|(n, _)| n != name);
        self
    }

    fn at(mut self, date_ms: i64) -> Call {
        self.date_ms = date_ms;
        self
    }

    /// The request this call sends, signed.
    fn sign(&self, fake: &AliyunSmsFake) -> Signed {
        let params: BTreeMap<String, String> = self.params.iter().cloned().collect();
        let host = fake.addr().to_string();
        let date = utc::format_iso8601(self.date_ms);
        let hashed = signature::sha256_hex(b"");
        let headers = [
            ("host", host.as_str()),
            ("x-acs-action", self.action.as_str()),
            ("x-acs-version", self.version.as_str()),
            ("x-acs-date", date.as_str()),
            ("x-acs-signature-nonce", self.nonce.as_str()),
            ("x-acs-content-sha256", hashed.as_str()),
        ];
        let canonical = signature::canonical_request(&RequestParts {
            method: "POST",
            path: "/",
            params: &params,
            headers: &headers,
            hashed_payload: &hashed,
        });
        let authorization = format!(
            "ACS3-HMAC-SHA256 Credential={},SignedHeaders={},Signature={}",
            self.access_key_id,
            signature::signed_header_names(&headers),
            signature::sign(&self.secret, &signature::string_to_sign(&canonical))
        );
        let mut headers: Vec<(String, String)> =
            headers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        headers.push(("authorization".to_owned(), authorization));
        // On the wire the query is encoded exactly as the canonical form.
        let url = format!("{}/?{}", fake.endpoint(), signature::canonical_query(&params));
        Signed { url, headers, body: Vec::new() }
    }

    async fn send(&self, fake: &AliyunSmsFake) -> (u16, Value) {
        self.sign(fake).send().await
    }
}

impl Default for Call {
    fn default() -> Call {
        static NONCES: AtomicU64 = AtomicU64::new(0);
        let params = [
            ("PhoneNumbers", "13800000000"),
            ("SignName", "蓝天云"),
            ("TemplateCode", "SMS_900000001"),
            ("TemplateParam", r#"{"event":"登录 login"}"#),
        ];
        Call {
            params: params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            access_key_id: "LTAIfakeAccessKeyId".to_owned(),
            secret: "fakeAccessKeySecret".to_owned(),
            date_ms: NOW_MS,
            nonce: format!("{:032x}", NONCES.fetch_add(1, Ordering::SeqCst)),
            action: "SendSms".to_owned(),
            version: "2017-05-25".to_owned(),
        }
    }
}

/// A signed request, which a test may still tamper with before sending.
struct Signed {
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Signed {
    fn set_header(mut self, name: &str, value: &str) -> Signed {
        self = self.remove_header(name);
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn remove_header(mut self, name: &str) -> Signed {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    fn header(&self, name: &str) -> &str {
        &self.headers.iter().find(|(n, _)| n == name).unwrap().1
    }

    async fn send_raw(self) -> reqwest::Result<reqwest::Response> {
        let mut request = reqwest::Client::new().post(&self.url).body(self.body);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request.send().await
    }

    /// Sends and returns the status and JSON body, checking what every
    /// Aliyun reply carries.
    async fn send(self) -> (u16, Value) {
        let response = self.send_raw().await.unwrap();
        let status = response.status().as_u16();
        assert_eq!(response.headers()["content-type"], "application/json;charset=utf-8");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["RequestId"].as_str().unwrap().len(), 36, "{body}");
        assert!(body["Code"].is_string() && body["Message"].is_string(), "{body}");
        (status, body)
    }
}

/// Asserts a refusal's status and code; returns its message.
fn refused(reply: &(u16, Value), status: u16, code: &str) -> String {
    let (got_status, body) = reply;
    assert_eq!((*got_status, body["Code"].as_str().unwrap()), (status, code), "{body}");
    assert!(body.get("BizId").is_none(), "{body}");
    body["Message"].as_str().unwrap().to_owned()
}

/// Asserts an `OK` reply; returns its BizId.
fn accepted(reply: &(u16, Value)) -> String {
    let (status, body) = reply;
    assert_eq!((*status, body["Code"].as_str().unwrap()), (200, "OK"), "{body}");
    assert_eq!(body["Message"], "OK");
    body["BizId"].as_str().unwrap().to_owned()
}
