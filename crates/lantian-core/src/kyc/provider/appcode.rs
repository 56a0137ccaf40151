//! A two-factor (姓名 + 身份证号) API sold on the Aliyun market: third-party sellers behind
//! Aliyun's API gateway, authorised by `Authorization: APPCODE <AppCode>`.
//!
//! Sellers differ in path, parameter names and reply shape, so `[kyc.market]` describes them;
//! the defaults fit 数脉 (`POST /eid/check`, `name` + `idcard`, reply
//! `{"code":"0","result":{"res":"1"|"2"|"3"}}`). With `method = "GET"` the name and number
//! necessarily travel in the query string, as such sellers want them: still inside TLS, but
//! in the URL that the seller's access logs record. POST keeps them in the body.
//!
//! The gateway answers 401 for a wrong AppCode and 403 when the quota is used up; neither
//! passes by retrying. The gateway's `X-Ca-Request-Id` is the request id, as every seller
//! has it.

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::AUTHORIZATION;

use super::{DISCLOSED_FIELDS, RealNameProvider, Reply, Verdict, text_at};
use crate::config::{KycConfig, MarketConfig, MarketMethod};
use crate::{Error, Result};

const NAME: &str = "aliyun-market";

/// The market client. Holds the AppCode: no `Debug`.
pub struct AppcodeMarket {
    http: reqwest::Client,
    url: Url,
    authorization: String,
    api: MarketConfig,
}

impl AppcodeMarket {
    pub fn new(cfg: &KycConfig) -> Result<AppcodeMarket> {
        let url = super::endpoint(cfg)?
            .join(&cfg.market.path)
            .map_err(|e| Error::Internal(anyhow::anyhow!("kyc.market.path: {e}")))?;
        Ok(AppcodeMarket {
            http: super::http_client(cfg)?,
            url,
            authorization: format!("APPCODE {}", cfg.appcode.expose()),
            api: cfg.market.clone(),
        })
    }

    fn read(&self, reply: &Reply) -> Verdict {
        let status = reply.status.as_u16();
        if !reply.status.is_success() {
            // Only "too many requests" passes with time; 4xx is the AppCode, quota or request.
            return Verdict::error(format!("http-{status}"), status == 429);
        }
        let Some(json) = &reply.json else {
            return Verdict::garbage();
        };
        if !self.api.code_pointer.is_empty() {
            match text_at(json, &self.api.code_pointer) {
                Some(code) if code == self.api.code_ok => {}
                Some(code) => return Verdict::error(format!("market-{code}"), false),
                None => return Verdict::garbage(),
            }
        }
        let request_id =
            reply.headers.get("x-ca-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        match text_at(json, &self.api.result_pointer) {
            Some(r) if r == self.api.result_match => Verdict::Match { request_id },
            Some(r) if r == self.api.result_mismatch => Verdict::Mismatch { request_id },
            Some(r) if r == self.api.result_not_found => Verdict::NotFound { request_id },
            _ => Verdict::garbage(),
        }
    }
}

#[async_trait]
impl RealNameProvider for AppcodeMarket {
    fn name(&self) -> &'static str {
        NAME
    }

    fn disclosed_fields(&self) -> &'static [&'static str] {
        DISCLOSED_FIELDS
    }

    async fn verify(&self, name: &str, id_number: &str) -> Verdict {
        let params = [(self.api.name_param.as_str(), name), (self.api.id_param.as_str(), id_number)];
        let request = match self.api.method {
            MarketMethod::Get => self.http.get(self.url.clone()).query(&params),
            MarketMethod::Post => self.http.post(self.url.clone()).form(&params),
        };
        match super::send(NAME, request.header(AUTHORIZATION, &self.authorization)).await {
            Ok(reply) => self.read(&reply),
            Err(verdict) => verdict,
        }
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    use super::*;

    fn reply(status: u16, json: serde_json::Value) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert("x-ca-request-id", "R1".parse().unwrap());
        Reply { status: StatusCode::from_u16(status).unwrap(), headers, json: Some(json) }
    }

    #[test]
    fn reads_a_seller_by_its_configured_mapping() {
        // cmapi022049's shape: no call status, `status` "01" for a match.
        let market = MarketConfig {
            code_pointer: String::new(),
            result_pointer: "/status".into(),
            result_match: "01".into(),
            result_mismatch: "02".into(),
            result_not_found: "202".into(),
            ..MarketConfig::default()
        };
        let cfg = KycConfig { endpoint: "https://idcert.example".into(), market, ..KycConfig::default() };
        let client = AppcodeMarket::new(&cfg).unwrap();
        assert_eq!(client.url.as_str(), "https://idcert.example/eid/check");
        assert_eq!(client.read(&reply(200, json!({"status": "01"}))), Verdict::Match { request_id: "R1".into() });
        assert_eq!(client.read(&reply(200, json!({"status": 202}))), Verdict::NotFound { request_id: "R1".into() });
        assert_eq!(client.read(&reply(200, json!({"status": "05"}))), Verdict::garbage());
        assert_eq!(client.read(&reply(429, json!({}))), Verdict::error("http-429", true));

        // 数脉's defaults: a call status first, numeric or not.
        let cfg = KycConfig { endpoint: "https://eid.example".into(), ..KycConfig::default() };
        let client = AppcodeMarket::new(&cfg).unwrap();
        let shumai = |code: serde_json::Value| json!({"code": code, "result": {"res": "2"}});
        assert_eq!(client.read(&reply(200, shumai(json!(0)))), Verdict::Mismatch { request_id: "R1".into() });
        assert_eq!(client.read(&reply(200, shumai(json!("20010")))), Verdict::error("market-20010", false));
        assert_eq!(client.read(&reply(200, json!({"result": {"res": "1"}}))), Verdict::garbage(), "no call status");
    }
}
