//! Aliyun SMS (dysmsapi 2017-05-25, SendSms), signed with ACS3-HMAC-SHA256.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::SmsSender;
use crate::aliyun::acs3;
use crate::clock::Clock;
use crate::config::SmsConfig;
use crate::notify::DeliveryError;
use crate::{Error, Result};

const VERSION: &str = "2017-05-25";

pub struct AliyunSms {
    http: reqwest::Client,
    endpoint: String,
    host: String,
    access_key_id: String,
    secret: String,
    sign_name: String,
    clock: Arc<dyn Clock>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    code: Option<String>,
    message: Option<String>,
    biz_id: Option<String>,
}

impl AliyunSms {
    pub fn new(cfg: &SmsConfig, clock: Arc<dyn Clock>) -> Result<AliyunSms> {
        let endpoint = cfg.endpoint.trim_end_matches('/').to_string();
        let host = endpoint
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(rest).to_string())
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("sms.endpoint must start with https://")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Internal(e.into()))?;
        Ok(AliyunSms {
            http,
            endpoint,
            host,
            access_key_id: cfg.access_key_id.clone(),
            secret: cfg.access_key_secret.expose().to_string(),
            sign_name: cfg.sign_name.clone(),
            clock,
        })
    }
}

#[async_trait]
impl SmsSender for AliyunSms {
    fn vendor(&self) -> &str {
        "阿里云短信服务 Aliyun SMS"
    }

    async fn send(
        &self,
        phone: &str,
        template: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<String, DeliveryError> {
        let national = phone.strip_prefix("+86").unwrap_or(phone);
        let param_json = serde_json::to_string(params).map_err(|e| DeliveryError::Permanent(e.to_string()))?;
        let query = [
            ("PhoneNumbers", national),
            ("SignName", self.sign_name.as_str()),
            ("TemplateCode", template),
            ("TemplateParam", param_json.as_str()),
        ];
        let date = self.clock.now().to_timestamp().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let req = acs3::Request {
            method: "POST",
            host: &self.host,
            action: "SendSms",
            version: VERSION,
            query: &query,
            body: b"",
            date: &date,
            nonce: &nonce,
        };
        let url = format!("{}/?{}", self.endpoint, acs3::canonical_query(&query));
        let mut rb = self.http.post(url);
        for (k, v) in acs3::sign(&self.access_key_id, &self.secret, &req) {
            if k != "host" {
                rb = rb.header(k, v);
            }
        }
        let res = rb.send().await.map_err(|e| {
            if e.is_timeout() {
                // The vendor may have sent it: SendSms is not idempotent, so no blind retry.
                DeliveryError::Permanent(format!("no answer in time; outcome unknown, not retried: {e}"))
            } else {
                DeliveryError::Temporary(format!("cannot reach the SMS vendor: {e}"))
            }
        })?;
        let status = res.status();
        let body = res.text().await.map_err(|e| DeliveryError::Temporary(e.to_string()))?;
        if status.is_server_error() {
            return Err(DeliveryError::Temporary(format!("vendor answered {status}")));
        }
        let reply: Reply = serde_json::from_str(&body)
            .map_err(|_| DeliveryError::Temporary(format!("vendor answered {status} with an unreadable body")))?;
        let code = reply.code.unwrap_or_default();
        let message = reply.message.unwrap_or_default();
        match code.as_str() {
            "OK" => Ok(reply.biz_id.unwrap_or_default()),
            "isv.BUSINESS_LIMIT_CONTROL" | "Throttling.User" | "Throttling" => {
                Err(DeliveryError::Temporary(format!("{code}: {message}")))
            }
            _ => Err(DeliveryError::Permanent(format!("{code}: {message}"))),
        }
    }
}
