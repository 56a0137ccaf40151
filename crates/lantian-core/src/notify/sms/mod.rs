//! SMS: the vendor sends an approved template with parameters; we never send free text.

pub mod aliyun;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::DeliveryError;
use crate::Result;
use crate::clock::Clock;
use crate::config::{SmsConfig, SmsProvider};

#[async_trait]
pub trait SmsSender: Send + Sync {
    /// The vendor's name, as the `sms_notices` consent and the disclosure ledger name it.
    fn vendor(&self) -> &str;
    /// Sends template `template` with `params` to one mainland number; returns the vendor's id.
    async fn send(
        &self,
        phone: &str,
        template: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<String, DeliveryError>;
}

pub fn from_config(cfg: &SmsConfig, clock: Arc<dyn Clock>) -> Result<Option<Arc<dyn SmsSender>>> {
    Ok(match cfg.provider {
        SmsProvider::None => None,
        SmsProvider::Aliyun => Some(Arc::new(aliyun::AliyunSms::new(cfg, clock)?)),
    })
}
