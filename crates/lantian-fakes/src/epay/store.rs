//! What the fake remembers: the orders, the requests it received and the
//! notification attempts it made.

use std::collections::VecDeque;

use super::money::format_yuan;
use super::order::OrderRequest;
use super::records::{EpayOrder, EpayVersion, NotifyAttempt, OrderActionError, OrderStatus, ReceivedRequest};
use crate::utc;

/// How a caller names an order.
#[derive(Debug, Clone, Copy)]
pub(super) enum OrderRef<'a> {
    TradeNo(&'a str),
    OutTradeNo(&'a str),
}

/// An order and the figures the gateway computes with.
#[derive(Debug, Clone)]
pub(super) struct Order {
    /// 0 for the first order since start; what made-up numbers count by.
    pub serial: u64,
    pub request: OrderRequest,
    pub trade_no: String,
    pub version: EpayVersion,
    pub status: OrderStatus,
    pub refunded_fen: i64,
    pub api_trade_no: Option<String>,
    pub buyer: Option<String>,
    pub created_at_ms: i64,
    pub ended_at_ms: Option<i64>,
}

impl Order {
    /// When it was paid; `None` for an order never paid.
    pub(super) fn paid_at_ms(&self) -> Option<i64> {
        self.api_trade_no.as_ref().and(self.ended_at_ms)
    }

    pub(super) fn snapshot(&self) -> EpayOrder {
        let r = &self.request;
        EpayOrder {
            trade_no: self.trade_no.clone(),
            out_trade_no: r.out_trade_no.clone(),
            version: self.version,
            channel: r.channel.clone(),
            name: r.name.clone(),
            money: format_yuan(r.money_fen),
            notify_url: r.notify_url.clone(),
            return_url: r.return_url.clone(),
            param: r.param.clone(),
            clientip: r.clientip.clone(),
            status: self.status,
            refunded: format_yuan(self.refunded_fen),
            api_trade_no: self.api_trade_no.clone(),
            buyer: self.buyer.clone(),
            created_at_ms: self.created_at_ms,
            ended_at_ms: self.ended_at_ms,
        }
    }
}

/// Requests and notification attempts beyond this many are forgotten
/// (oldest first), so a long-running demo does not grow without bound.
const KEEP_LAST: usize = 1000;

/// The gateway writes times in China Standard Time (UTC+8, no DST).
const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// `YYYY-MM-DD HH:MM:SS` in China time, as `addtime`/`endtime` carry it.
pub(super) fn china_time(ms: i64) -> String {
    utc::format_datetime(ms + CHINA_OFFSET_MS)
}

#[derive(Default)]
pub(super) struct Store {
    orders: Vec<Order>,
    requests: VecDeque<ReceivedRequest>,
    notifies: VecDeque<NotifyAttempt>,
}

impl Store {
    pub(super) fn record_request(&mut self, request: ReceivedRequest) {
        push_bounded(&mut self.requests, request);
    }

    pub(super) fn record_notify(&mut self, attempt: NotifyAttempt) {
        push_bounded(&mut self.notifies, attempt);
    }

    /// Creates the order, or returns the existing one when the same
    /// `out_trade_no` comes again with the same order fields.
    pub(super) fn create(&mut self, request: OrderRequest, version: EpayVersion, now: i64) -> Result<Order, String> {
        if let Some(existing) = self.find(OrderRef::OutTradeNo(&request.out_trade_no)) {
            if existing.request.money_fen != request.money_fen {
                return Err(format!(
                    "订单号已存在且金额不一致 (out_trade_no {:?} exists with money {})",
                    request.out_trade_no,
                    format_yuan(existing.request.money_fen)
                ));
            }
            if !existing.request.same_order(&request) {
                return Err(format!(
                    "订单号已存在且订单信息不一致 (out_trade_no {:?} exists with other fields)",
                    request.out_trade_no
                ));
            }
            return Ok(existing.clone());
        }
        let serial = u64::try_from(self.orders.len()).unwrap_or(u64::MAX);
        // Like 彩虹易支付's: the creation time in China, then a sequence.
        let trade_no = format!("{}{:05}", china_time(now).replace(['-', ' ', ':'], ""), serial % 100_000);
        let order = Order {
            serial,
            request,
            trade_no,
            version,
            status: OrderStatus::Unpaid,
            refunded_fen: 0,
            api_trade_no: None,
            buyer: None,
            created_at_ms: now,
            ended_at_ms: None,
        };
        self.orders.push(order.clone());
        Ok(order)
    }

    pub(super) fn find(&self, order: OrderRef<'_>) -> Option<&Order> {
        self.orders.iter().find(|o| is_named(o, order))
    }

    fn unpaid_mut(&mut self, order: OrderRef<'_>) -> Result<&mut Order, OrderActionError> {
        let name = match order {
            OrderRef::TradeNo(id) | OrderRef::OutTradeNo(id) => id,
        };
        let found = self.orders.iter_mut().find(|o| is_named(o, order));
        let found = found.ok_or_else(|| OrderActionError::UnknownOrder(name.to_owned()))?;
        if found.status != OrderStatus::Unpaid {
            return Err(OrderActionError::NotUnpaid {
                out_trade_no: found.request.out_trade_no.clone(),
                status: found.status,
            });
        }
        Ok(found)
    }

    /// Marks an unpaid order paid by a made-up buyer of its channel.
    pub(super) fn pay(&mut self, order: OrderRef<'_>, now: i64) -> Result<Order, OrderActionError> {
        let found = self.unpaid_mut(order)?;
        let date = china_time(now).replace(['-', ' ', ':'], "");
        let serial = found.serial;
        let (api_trade_no, buyer) = match found.request.channel.as_str() {
            "alipay" => (format!("{}22001{serial:015}", &date[..8]), format!("2088{serial:012}")),
            "wxpay" => (format!("42000{serial:09}{}", &date[..14]), format!("oFakeBuyerWeChat{serial:012}")),
            _ => (format!("qq{}{serial:012}", &date[..14]), format!("fake-qq-buyer-{serial}")),
        };
        found.status = OrderStatus::Paid;
        found.api_trade_no = Some(api_trade_no);
        found.buyer = Some(buyer);
        found.ended_at_ms = Some(now);
        Ok(found.clone())
    }

    pub(super) fn fail(&mut self, order: OrderRef<'_>, now: i64) -> Result<Order, OrderActionError> {
        let found = self.unpaid_mut(order)?;
        found.status = OrderStatus::Failed;
        found.ended_at_ms = Some(now);
        Ok(found.clone())
    }

    /// Refunds `fen` of a paid order; the whole amount may be refunded in
    /// several parts, never more.
    pub(super) fn refund(&mut self, order: OrderRef<'_>, fen: i64) -> Result<Order, String> {
        let Some(found) = self.orders.iter_mut().find(|o| is_named(o, order)) else {
            return Err("订单不存在 (no such order)".to_owned());
        };
        if found.status != OrderStatus::Paid {
            return Err(format!("订单状态不允许退款 (order is {:?}, not paid)", found.status));
        }
        let left = found.request.money_fen - found.refunded_fen;
        if fen > left {
            return Err(format!("退款金额超过可退金额 (at most {} can be refunded)", format_yuan(left)));
        }
        found.refunded_fen += fen;
        if found.refunded_fen == found.request.money_fen {
            found.status = OrderStatus::Refunded;
        }
        Ok(found.clone())
    }

    pub(super) fn orders(&self) -> Vec<EpayOrder> {
        self.orders.iter().map(Order::snapshot).collect()
    }

    pub(super) fn requests(&self) -> Vec<ReceivedRequest> {
        self.requests.iter().cloned().collect()
    }

    pub(super) fn notifies(&self) -> Vec<NotifyAttempt> {
        self.notifies.iter().cloned().collect()
    }
}

fn is_named(order: &Order, by: OrderRef<'_>) -> bool {
    match by {
        OrderRef::TradeNo(id) => order.trade_no == id,
        OrderRef::OutTradeNo(id) => order.request.out_trade_no == id,
    }
}

fn push_bounded<T>(list: &mut VecDeque<T>, item: T) {
    list.push_back(item);
    while list.len() > KEEP_LAST {
        list.pop_front();
    }
}
