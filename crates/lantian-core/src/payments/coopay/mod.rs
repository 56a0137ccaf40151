//! CooPay, an EPay-compatible (彩虹易支付) aggregator for Alipay and WeChat Pay: the real
//! protocol client behind [`PaymentGateway`]. V1 signs with MD5 and the merchant key, V2
//! with RSA keys and timestamps; `payments.version` picks one. Every address comes from
//! `payments.base_url`, so the same client runs against CooPay and against the EPay fake.

mod client;
mod notify;
mod sign;
mod v1;
mod v2;

use std::sync::Arc;

use crate::Result;
use crate::config::{EpayVersion, PaymentsConfig, PaymentsProvider};
use crate::payments::gateway::PaymentGateway;

/// The recipient's name in the disclosure ledger.
pub const NAME: &str = "CooPay";

/// The gateway `[payments]` configures, or `None` when `provider = "none"`. `public_url` is
/// our own origin (`http://127.0.0.1:8080`): the gateway calls back on
/// `{public_url}/pay/coopay/notify` and sends the browser to `{public_url}/pay/coopay/return`.
pub fn from_config(cfg: &PaymentsConfig, public_url: &str) -> Result<Option<Arc<dyn PaymentGateway>>> {
    if cfg.provider == PaymentsProvider::None {
        return Ok(None);
    }
    let common = client::Common::new(cfg, public_url)?;
    let gateway: Arc<dyn PaymentGateway> = match cfg.version {
        EpayVersion::V1 => Arc::new(v1::CooPayV1::new(common, cfg)?),
        EpayVersion::V2 => Arc::new(v2::CooPayV2::new(common, cfg)?),
    };
    Ok(Some(gateway))
}

#[cfg(test)]
mod tests;
