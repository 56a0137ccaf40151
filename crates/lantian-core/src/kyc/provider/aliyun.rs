//! Aliyun Cloudauth (实人认证) `Id2MetaVerify`, API version 2019-03-07: name and ID number
//! against the authority's records, signed with ACS3-HMAC-SHA256.
//!
//! The three parameters travel in a POST form body, not the query string: Aliyun's gateway
//! reads an RPC action's parameters from either, and the body is covered by the signature
//! through `x-acs-content-sha256`, so the request is as protected as with a query, while the
//! name and number stay out of every URL that proxies and access logs record.
//!
//! Reply: `Code` "200" when the call was answered, then `ResultObject.BizCode` 1 一致 / 2 不一致
//! / 3 查无记录. Other codes: 400 empty and 401 illegal parameter, 402 authority source error,
//! 403 abnormal repeat call, 410 not activated, 411 RAM permission missing, 412 in arrears,
//! 500 system error; gateway refusals (bad signature, unknown AccessKey, throttling) carry
//! codes such as `SignatureDoesNotMatch` with an HTTP 4xx.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;

use super::{DISCLOSED_FIELDS, RealNameProvider, Reply, Verdict, text_at};
use crate::aliyun::acs3;
use crate::clock::Clock;
use crate::config::KycConfig;
use crate::{Error, Result};

const NAME: &str = "aliyun-cloudauth";
const ACTION: &str = "Id2MetaVerify";
const VERSION: &str = "2019-03-07";

/// The Cloudauth client. Holds the AccessKey secret: no `Debug`.
pub struct AliyunCloudauth {
    http: reqwest::Client,
    url: Url,
    /// The `host` header as reqwest sends it (with the port when it is not the default).
    host: String,
    access_key_id: String,
    secret: String,
    clock: Arc<dyn Clock>,
}

impl AliyunCloudauth {
    pub fn new(cfg: &KycConfig, clock: Arc<dyn Clock>) -> Result<AliyunCloudauth> {
        let url = super::endpoint(cfg)?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => return Err(Error::Internal(anyhow::anyhow!("kyc.endpoint has no host"))),
        };
        Ok(AliyunCloudauth {
            http: super::http_client(cfg)?,
            url,
            host,
            access_key_id: cfg.access_key_id.clone(),
            secret: cfg.access_key_secret.expose().to_string(),
            clock,
        })
    }
}

#[async_trait]
impl RealNameProvider for AliyunCloudauth {
    fn name(&self) -> &'static str {
        NAME
    }

    fn disclosed_fields(&self) -> &'static [&'static str] {
        DISCLOSED_FIELDS
    }

    async fn verify(&self, name: &str, id_number: &str) -> Verdict {
        // `normal`: the values in clear (inside TLS); the MD5 mode is not offered for this API.
        let form = [("ParamType", "normal"), ("IdentifyNum", id_number), ("UserName", name)];
        // The query-string encoding is also a valid form encoding (RFC 3986 escapes only).
        let body = acs3::canonical_query(&form);
        let date = self.clock.now().to_timestamp().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let req = acs3::Request {
            method: "POST",
            host: &self.host,
            action: ACTION,
            version: VERSION,
            query: &[],
            body: body.as_bytes(),
            date: &date,
            nonce: &nonce,
        };
        let mut rb = self.http.post(self.url.clone()).header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in acs3::sign(&self.access_key_id, &self.secret, &req) {
            // reqwest writes `host` itself, from the same address.
            if k != "host" {
                rb = rb.header(k, v);
            }
        }
        match super::send(NAME, rb.body(body)).await {
            Ok(reply) => read(&reply),
            Err(verdict) => verdict,
        }
    }
}

fn read(reply: &Reply) -> Verdict {
    let Some(json) = &reply.json else {
        // An HTTP 4xx that is not Aliyun's JSON: the endpoint is not Cloudauth's.
        return if reply.status.is_success() {
            Verdict::garbage()
        } else {
            Verdict::error(format!("http-{}", reply.status.as_u16()), false)
        };
    };
    let request_id = text_at(json, "/RequestId").unwrap_or_default();
    match text_at(json, "/Code").as_deref() {
        Some("200") => match text_at(json, "/ResultObject/BizCode").as_deref() {
            Some("1") => Verdict::Match { request_id },
            Some("2") => Verdict::Mismatch { request_id },
            Some("3") => Verdict::NotFound { request_id },
            _ => Verdict::garbage(),
        },
        // A system error or throttling passes; everything else needs the configuration, the
        // account at Aliyun or our request fixed first (401 illegal parameter, 403 abnormal
        // repeat call included: asking again does not change the answer).
        Some(code) => Verdict::error(format!("aliyun-{code}"), code == "500" || code.starts_with("Throttling")),
        None => Verdict::garbage(),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use serde_json::json;

    use super::*;

    fn verdict(status: u16, body: Option<serde_json::Value>) -> Verdict {
        let status = StatusCode::from_u16(status).unwrap();
        read(&Reply { status, headers: Default::default(), json: body })
    }

    #[test]
    fn reads_codes_and_biz_codes() {
        let answered = |biz: &str| json!({"RequestId": "R1", "Code": "200", "ResultObject": {"BizCode": biz}});
        assert_eq!(verdict(200, Some(answered("1"))), Verdict::Match { request_id: "R1".into() });
        assert_eq!(verdict(200, Some(answered("3"))), Verdict::NotFound { request_id: "R1".into() });
        assert_eq!(verdict(200, Some(answered("4"))), Verdict::garbage());
        assert_eq!(verdict(200, Some(json!({"Code": 200}))), Verdict::garbage(), "no result");
        let error = |code: &str, status| verdict(status, Some(json!({"RequestId": "R2", "Code": code})));
        assert_eq!(error("412", 200), Verdict::error("aliyun-412", false));
        assert_eq!(error("403", 200), Verdict::error("aliyun-403", false));
        assert_eq!(error("500", 200), Verdict::error("aliyun-500", true));
        assert_eq!(error("Throttling.User", 400), Verdict::error("aliyun-Throttling.User", true));
        assert_eq!(verdict(404, None), Verdict::error("http-404", false), "not Cloudauth at all");
        assert_eq!(verdict(200, None), Verdict::garbage());
    }
}
