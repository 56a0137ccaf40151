//! The `[billing]` and `[payments]` sections: orders and invoices, and the payment gateway.

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, Secret, invalid};

/// Orders and invoices.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BillingConfig {
    pub cancel_unpaid_after_days: u32,
    pub invoice_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentsProvider {
    None,
    Coopay,
}

/// The EPay protocol generation the gateway speaks: V1 signs with MD5 and a shared key, V2
/// with RSA keys and timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EpayVersion {
    V1,
    V2,
}

/// How V1 appends the merchant key to the signed string: directly, or as `&key=KEY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EpayKeyStyle {
    Append,
    AmpKey,
}

/// The payment gateway (CooPay, EPay-compatible).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsConfig {
    pub provider: PaymentsProvider,
    pub base_url: String,
    pub version: EpayVersion,
    pub pid: String,
    pub key: Secret,
    pub key_file: String,
    pub key_style: EpayKeyStyle,
    pub merchant_private_key: Secret,
    pub merchant_private_key_file: String,
    pub platform_public_key: String,
    pub public_ip: String,
    pub timeout_secs: u64,
    pub timestamp_window_secs: u64,
}

impl Config {
    pub(super) fn validate_billing(&self) -> Result<(), ConfigError> {
        let b = &self.billing;
        if !(1..=90).contains(&b.cancel_unpaid_after_days) {
            return Err(invalid("billing.cancel_unpaid_after_days", "expected 1 to 90"));
        }
        if !(1..=8).contains(&b.invoice_prefix.len()) || !b.invoice_prefix.bytes().all(|c| c.is_ascii_uppercase()) {
            return Err(invalid("billing.invoice_prefix", "expected 1 to 8 capital letters A-Z"));
        }
        let p = &self.payments;
        if p.provider == PaymentsProvider::None {
            return Ok(());
        }
        if !(p.base_url.starts_with("http://") || p.base_url.starts_with("https://")) || !p.base_url.ends_with('/') {
            return Err(invalid("payments.base_url", "expected http:// or https:// ending with /"));
        }
        if p.pid.is_empty() || !p.pid.bytes().all(|c| c.is_ascii_digit()) {
            return Err(invalid("payments.pid", "expected the merchant id, digits"));
        }
        match p.version {
            EpayVersion::V1 if p.key.expose().is_empty() => {
                return Err(invalid("payments.key", "V1 needs the merchant key (key or key_file)"));
            }
            EpayVersion::V2 if p.merchant_private_key.expose().is_empty() || p.platform_public_key.is_empty() => {
                return Err(invalid(
                    "payments.merchant_private_key",
                    "V2 needs merchant_private_key (or _file) and platform_public_key, PEM",
                ));
            }
            _ => {}
        }
        if p.public_ip.parse::<std::net::IpAddr>().is_err() {
            return Err(invalid("payments.public_ip", "expected this server's public IP address"));
        }
        if !(1..=120).contains(&p.timeout_secs) {
            return Err(invalid("payments.timeout_secs", "expected 1 to 120"));
        }
        if !(30..=3600).contains(&p.timestamp_window_secs) {
            return Err(invalid("payments.timestamp_window_secs", "expected 30 to 3600"));
        }
        Ok(())
    }
}
