//! Orders: reading one, applying the balance to it (`/credit`) and paying
//! it from the balance (`/pay` with the `credit` gateway).

use serde_json::{Value, json};

use super::params::Params;
use super::reply;
use super::store::{OrderKind, OrderStatus, Store};

pub(super) fn show(store: &Store, id: u64) -> Value {
    let Some(order) = store.order(id) else {
        return reply::fail(400, "订单不存在");
    };
    let host = store.host(order.host_id);
    let order = json!({
        "id": order.id,
        "type": match order.kind { OrderKind::New => "new", OrderKind::Renew => "renew" },
        "amount": reply::yuan(order.amount_fen),
        "status": match order.status { OrderStatus::Unpaid => "Unpaid", OrderStatus::Paid => "Paid" },
        "gateway": "credit",
        "items": [{
            "host_id": order.host_id,
            "amount": reply::yuan(order.amount_fen),
            "host_name": host.map_or("", |h| h.name.as_str()),
            "host_status": host.map_or("", |h| h.status.as_str()),
        }],
    });
    reply::ok("请求成功", json!({ "order": order, "self_defined_field": [] }))
}

/// Marks an unpaid order to be paid from the balance (`use` 1) or not (0);
/// the money moves with `/pay`.
pub(super) fn credit(store: &mut Store, params: &Params) -> Value {
    let Some(id) = params.int("id").and_then(|id| u64::try_from(id).ok()) else {
        return reply::bad_param();
    };
    match store.order(id).map(|o| o.status) {
        None => reply::fail(400, "订单不存在"),
        Some(OrderStatus::Paid) => reply::fail(400, "订单已支付"),
        Some(OrderStatus::Unpaid) => reply::ok("使用余额成功", json!({ "id": id })),
    }
}

/// Pays an order from the balance. Only the `credit` gateway exists here.
pub(super) fn pay(store: &mut Store, params: &Params, now: i64) -> Value {
    let Some(id) = params.int("id").and_then(|id| u64::try_from(id).ok()) else {
        return reply::bad_param();
    };
    if params.text("gateway") != Some("credit") {
        return reply::fail(400, "支付方式错误");
    }
    match store.pay(id, now) {
        Ok(()) => reply::ok("支付成功", json!({ "code": "Paid" })),
        Err(msg) => reply::fail(400, msg),
    }
}
