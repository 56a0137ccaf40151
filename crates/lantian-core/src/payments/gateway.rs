//! The payment gateway as billing sees it. CooPay (an EPay-compatible aggregator for Alipay and
//! WeChat Pay) implements it in `coopay/`; the tests and the demo run that real client against
//! the EPay fake of `lantian-fakes`.
//!
//! What the gateway receives is fixed here (privacy policy C3.3): the order number, the amount
//! and the product name, plus the protocol's own fields (merchant id, channel, our callback
//! addresses, signature) and, as `clientip`, the server's public address, never the customer's.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::UnixMs;

/// The customer's choice on the payment page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Alipay,
    Wxpay,
}

impl Channel {
    /// The EPay `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Alipay => "alipay",
            Channel::Wxpay => "wxpay",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "alipay" => Some(Channel::Alipay),
            "wxpay" => Some(Channel::Wxpay),
            _ => None,
        }
    }
}

/// One payment to start: exactly what the gateway may learn about it (C3.3).
#[derive(Debug, Clone)]
pub struct PayRequest {
    /// Our payment number (`out_trade_no`): letters and digits, at most 32.
    pub out_trade_no: String,
    pub amount_fen: i64,
    /// The product name the cashier page shows; no personal data.
    pub product_name: String,
    pub channel: Channel,
}

/// A QR payment created server-side (`mapi.php`): the QR code's content, shown on our page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPayment {
    pub trade_no: String,
    pub qr_content: String,
}

/// The gateway's answer to an order query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeStatus {
    pub trade_no: String,
    pub out_trade_no: String,
    pub amount_fen: i64,
    pub paid: bool,
}

/// A notification whose signature, merchant id and timestamp were checked; what remains to
/// check (the invoice, the amount, not yet paid) is billing's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub trade_no: String,
    pub out_trade_no: String,
    pub amount_fen: i64,
    /// `trade_status == "TRADE_SUCCESS"`: the only status that means paid.
    pub success: bool,
    pub channel: Option<Channel>,
}

/// Why a notification was refused before billing looked at it. Answered with `fail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("signature does not verify")]
    BadSignature,
    #[error("another merchant id")]
    WrongMerchant,
    #[error("field `{0}` missing or malformed")]
    BadField(&'static str),
    #[error("timestamp outside the accepted window")]
    Stale,
}

/// A call to the gateway failed: the network, a time-out, or an error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("gateway unreachable: {0}")]
    Unreachable(String),
    #[error("gateway refused: {0}")]
    Refused(String),
    #[error("gateway answer not understood: {0}")]
    BadAnswer(String),
}

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// The recipient's name in the disclosure ledger.
    fn name(&self) -> &str;

    /// The fields the gateway receives when a payment starts, for the disclosure ledger and
    /// the test that pins them.
    fn disclosed_fields(&self) -> &'static [&'static str];

    /// The signed `submit.php` address the customer's browser is sent to (desktop redirect).
    /// No network call.
    fn redirect_url(&self, req: &PayRequest, now: UnixMs) -> String;

    /// Creates the payment server-side and returns what the QR code shows.
    async fn create_qr(&self, req: &PayRequest, now: UnixMs) -> Result<QrPayment, GatewayError>;

    /// Asks the gateway for the state of one of our payments (reconciliation).
    async fn query(&self, out_trade_no: &str, now: UnixMs) -> Result<Option<TradeStatus>, GatewayError>;

    /// Refunds `amount_fen` of a paid trade through the gateway.
    async fn refund(&self, trade_no: &str, amount_fen: i64, now: UnixMs) -> Result<(), GatewayError>;

    /// Verifies a notification's or return's parameters (all of them, as received).
    fn verify(&self, params: &BTreeMap<String, String>, now: UnixMs) -> Result<Notification, Rejection>;
}
