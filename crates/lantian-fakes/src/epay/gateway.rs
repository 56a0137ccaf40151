//! What every endpoint does before its own work: read and record the
//! request, check the merchant id, find the order named, and the query
//! faults.

use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::Shared;
use super::form::{self, Fields};
use super::records::ReceivedRequest;
use super::reply;
use super::store::OrderRef;

impl Shared {
    /// Reads the request's fields and records it, whatever they are.
    pub(super) async fn receive(&self, endpoint: &str, request: Request) -> Result<Fields, String> {
        let (method, fields) = form::read(request).await;
        self.store().record_request(ReceivedRequest {
            endpoint: endpoint.to_owned(),
            method,
            fields: fields.clone().unwrap_or_default(),
            received_at_ms: self.now_ms(),
        });
        fields
    }

    pub(super) fn check_pid(&self, fields: &Fields) -> Result<(), String> {
        match fields.get("pid").map(String::as_str) {
            None | Some("") => Err("商户ID(pid)不能为空 (pid is required)".to_owned()),
            Some(pid) if pid != self.merchant.pid => Err(format!("商户不存在 (no merchant {pid:?})")),
            Some(_) => Ok(()),
        }
    }

    /// The merchant id and V1 key that `api.php` takes in the clear.
    pub(super) fn check_key(&self, fields: &Fields) -> Result<(), String> {
        self.check_pid(fields)?;
        let key = fields.get("key").map_or("", String::as_str);
        if bool::from(key.as_bytes().ct_eq(self.merchant.key.as_bytes())) {
            Ok(())
        } else {
            Err("商户密钥错误 (wrong merchant key)".to_owned())
        }
    }

    /// The order query, refund and the like name: `trade_no` if given,
    /// else `out_trade_no`.
    pub(super) fn order_named<'f>(&self, fields: &'f Fields) -> Result<OrderRef<'f>, String> {
        let given = |name: &str| fields.get(name).map(String::as_str).filter(|id| !id.is_empty());
        match (given("trade_no"), given("out_trade_no")) {
            (Some(trade_no), _) => Ok(OrderRef::TradeNo(trade_no)),
            (None, Some(out_trade_no)) => Ok(OrderRef::OutTradeNo(out_trade_no)),
            (None, None) => Err("订单号不能为空 (trade_no or out_trade_no is required)".to_owned()),
        }
    }

    /// A pending query fault: a hang holds the request first (until the
    /// fake stops at the latest), a server error answers instead.
    pub(super) async fn query_fault(&self) -> Option<Response> {
        if let Some(delay) = self.faults.take_query_hang() {
            self.sleep_unless_stopped(delay).await;
        }
        self.faults.take_query_error().then(reply::server_error)
    }

    pub(super) async fn sleep_unless_stopped(&self, delay: Duration) {
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = tokio::time::sleep(delay) => {}
        }
    }
}
