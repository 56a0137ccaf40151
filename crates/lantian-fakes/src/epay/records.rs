//! What the fake shows of what it holds: orders, received requests and
//! notification attempts, as [`super::EpayFake`] hands them out.

use std::collections::BTreeMap;
use std::fmt;

/// Which protocol variant created an order, and so signs its notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpayVersion {
    /// MD5 with the merchant key.
    V1,
    /// RSA with the platform key.
    V2,
}

/// Where an order stands. Queries answer `status` 0 for unpaid and
/// failed, 1 for paid, 2 for refunded in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Unpaid,
    Paid,
    /// Closed without payment ([`super::EpayFake::fail`] or the cashier's
    /// Fail button); queries report it as unpaid.
    Failed,
    /// Refunded in full; a partly refunded order stays [`OrderStatus::Paid`].
    Refunded,
}

/// An order as the gateway holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpayOrder {
    /// The gateway's order number, 19 digits.
    pub trade_no: String,
    pub out_trade_no: String,
    pub version: EpayVersion,
    /// The `type` field: `alipay`, `wxpay` or `qqpay`.
    pub channel: String,
    /// As stored: cut to 127 bytes.
    pub name: String,
    /// Yuan with two decimals, as the gateway sends it (`"12.50"`).
    pub money: String,
    pub notify_url: String,
    pub return_url: String,
    /// Empty when none was sent.
    pub param: String,
    /// Sent by server-side create calls only.
    pub clientip: Option<String>,
    pub status: OrderStatus,
    /// Yuan refunded so far (`"0.00"` when nothing was).
    pub refunded: String,
    /// The channel's own order number, once paid.
    pub api_trade_no: Option<String>,
    /// The buyer's channel account, once paid: personal data a client
    /// must not keep.
    pub buyer: Option<String>,
    pub created_at_ms: i64,
    /// When it was paid or failed.
    pub ended_at_ms: Option<i64>,
}

/// An API request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// The path without its leading `/`: `submit.php`, `api.php`,
    /// `api/pay/create`…
    pub endpoint: String,
    pub method: String,
    /// Every field of the query string and the form body, decoded; empty
    /// when they could not be read (a name given twice, say).
    pub fields: BTreeMap<String, String>,
    pub received_at_ms: i64,
}

/// One notification request the fake sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyAttempt {
    pub trade_no: String,
    pub out_trade_no: String,
    /// 1 for the first send of the schedule; duplicate copies share the
    /// number of the attempt they copy.
    pub attempt: u32,
    /// The URL requested: the `notify_url` with the fields in its query.
    pub url: String,
    /// The fields sent, `sign` included.
    pub params: BTreeMap<String, String>,
    pub sent_at_ms: i64,
    /// The HTTP status of the answer; `None` when there was none.
    pub status: Option<u16>,
    pub body: Option<String>,
    /// Why there was no answer (refused connection, timeout…).
    pub error: Option<String>,
}

impl NotifyAttempt {
    /// Whether the merchant acknowledged it: a body of exactly `success`.
    pub fn acknowledged(&self) -> bool {
        self.body.as_deref() == Some("success")
    }
}

/// Why [`super::EpayFake::pay`] or [`super::EpayFake::fail`] did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderActionError {
    UnknownOrder(String),
    /// Only unpaid orders can be paid or failed.
    NotUnpaid {
        out_trade_no: String,
        status: OrderStatus,
    },
}

impl fmt::Display for OrderActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderActionError::UnknownOrder(id) => write!(f, "no order {id:?}"),
            OrderActionError::NotUnpaid { out_trade_no, status } => {
                write!(f, "order {out_trade_no:?} is {status:?}, not unpaid")
            }
        }
    }
}

impl std::error::Error for OrderActionError {}
