//! The cart (CartModel): clearing it, which is also the reseller's check for
//! an order already placed for its host; adding a product; settling it into
//! an order and a host.

use serde_json::{Value, json};

use super::params::{Params, int};
use super::reply;
use super::store::{CartItem, HostStatus, OrderKind, OrderStatus, Store, ZjmfHost};

/// Empties the cart. With `downstream_host_id` and `downstream_token`, first
/// looks for the host settled with them: its unpaid order comes back as
/// `data.order_id` (pay it instead of ordering again); a paid one is refused.
pub(super) fn clear(store: &mut Store, params: &Params) -> Value {
    store.cart.clear();
    let downstream_host_id = params.int("downstream_host_id").unwrap_or(0);
    let token = params.text("downstream_token").unwrap_or("");
    if downstream_host_id == 0 || token.is_empty() {
        return reply::done("清空购物车成功");
    }
    // As the real one: any host of those ids, terminated ones too.
    let order_id = store
        .hosts()
        .into_iter()
        .find(|h| h.downstream_host_id == downstream_host_id && h.downstream_token == token)
        .map(|h| h.order_id);
    match order_id.and_then(|id| store.order(id)) {
        Some(order) if order.status == OrderStatus::Unpaid => {
            reply::ok("清空购物车成功", json!({ "order_id": order.id }))
        }
        Some(_) => reply::fail(400, "订单已开通,请勿重新开通"),
        None => reply::done("清空购物车成功"),
    }
}

/// Adds one product to the front of the cart (`array_unshift`).
pub(super) fn add(store: &mut Store, params: &Params) -> Value {
    let Some(product_id) = params.int("product_id").and_then(|id| u64::try_from(id).ok()) else {
        return reply::bad_param();
    };
    if !store.products.contains_key(&product_id) {
        return reply::fail(400, "商品不存在");
    }
    if params.int("qty").unwrap_or(1) != 1 {
        return reply::fail(400, "参数错误: 代理商每次只购买一台");
    }
    let config_options = params.get("config_options").filter(|v| v.is_object()).cloned().unwrap_or(json!({}));
    store.cart.insert(0, CartItem { product_id, config_options });
    reply::done("加入成功")
}

/// Settles one cart line (`positions: [n]`) into an order and an unpaid
/// host carrying the downstream ids. The fake prices a product at its
/// monthly price times `config_options.months` (default 1); a free order is
/// paid at once, as the real one marks it.
pub(super) fn settle(store: &mut Store, params: &Params, now: i64) -> Value {
    let positions: Vec<i64> = params
        .get("positions")
        .and_then(Value::as_array)
        .map(|p| p.iter().filter_map(int).collect())
        .unwrap_or_default();
    let [position] = positions.as_slice() else {
        return reply::fail(400, "请选择购物车中的商品");
    };
    let Some(index) = usize::try_from(*position).ok().filter(|i| *i < store.cart.len()) else {
        return reply::fail(400, "请选择购物车中的商品");
    };
    let item = store.cart.remove(index);
    let months = item.config_options.get("months").and_then(int).unwrap_or(1);
    let Ok(months @ 1..) = u32::try_from(months) else {
        return reply::bad_param();
    };
    let Some(price) = store.products.get(&item.product_id) else {
        return reply::fail(400, "商品不存在");
    };
    let amount = price * i64::from(months);
    let host_id = store.add_host(ZjmfHost {
        id: 0,
        order_id: 0,
        product_id: item.product_id,
        name: String::new(),
        status: HostStatus::Unpaid,
        downstream_host_id: params.int("downstream_host_id").unwrap_or(0),
        downstream_token: params.text("downstream_token").unwrap_or("").to_owned(),
        config_options: item.config_options,
        customfield: params.get("customfield").cloned().unwrap_or(json!({})),
        client_notes: String::new(),
        ip: None,
        power_on: false,
        months,
        due_ms: 0,
        suspend_reason: String::new(),
        refunded: false,
        active_at_ms: None,
    });
    let order_id = store.add_order(OrderKind::New, host_id, amount, months);
    if let Some(host) = store.host_mut(host_id) {
        host.order_id = order_id;
    }
    if amount == 0 {
        // Cannot fail: nothing to charge, and the order is new.
        let _ = store.pay(order_id, now);
    }
    reply::ok("结算成功", json!({ "order_id": order_id, "amount": reply::yuan(amount), "host_ids": [host_id] }))
}
