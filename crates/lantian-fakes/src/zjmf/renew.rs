//! The renew plugin (idcsmart_renew): the periods a host can be renewed
//! for, and a renewal, which is an order to pay like any other.

use serde_json::{Value, json};

use super::host::{missing, refused};
use super::params::Params;
use super::reply;
use super::store::{DAY_MS, HostStatus, OrderKind, Store, ZjmfHost};

/// The periods every product of the fake offers: (months, name).
const PERIODS: [(u32, &str); 4] = [(1, "月付"), (3, "季付"), (6, "半年付"), (12, "年付")];

/// `data.host`: the periods with `billing_cycle` (the name to renew with),
/// `duration` in seconds and `price` in yuan.
pub(super) fn page(store: &Store, id: u64) -> Value {
    let Some(h) = store.host(id) else { return missing() };
    if !renewable(h) {
        return refused(h);
    }
    let monthly = store.products.get(&h.product_id).copied().unwrap_or(0);
    let periods: Vec<Value> = PERIODS
        .iter()
        .map(|(months, name)| {
            let price = reply::yuan(monthly * i64::from(*months));
            json!({
                "billing_cycle": name,
                "duration": i64::from(*months) * 30 * DAY_MS / 1000,
                "price": price,
                "base_price": price,
            })
        })
        .collect();
    reply::ok("请求成功", json!({ "host": periods }))
}

/// Replaces the host's unpaid renewal order with a new one for
/// `billing_cycle`: `code` "Unpaid" and `data.id`, or "Paid" when it is
/// free.
pub(super) fn renew(store: &mut Store, id: u64, params: &Params, now: i64) -> Value {
    let Some(h) = store.host(id) else { return missing() };
    if !renewable(h) {
        return refused(h);
    }
    let Some((months, _)) = PERIODS.iter().find(|(_, name)| params.text("billing_cycle") == Some(*name)) else {
        return reply::fail(400, "续费周期错误");
    };
    let amount = store.products.get(&h.product_id).copied().unwrap_or(0) * i64::from(*months);
    store.remove_unpaid_renewals(id);
    let order_id = store.add_order(OrderKind::Renew, id, amount, *months);
    if amount == 0 {
        // Cannot fail: nothing to charge, and the order is new.
        let _ = store.pay(order_id, now);
        return json!({ "status": 200, "msg": "续费成功", "code": "Paid" });
    }
    json!({ "status": 200, "msg": "续费成功", "code": "Unpaid", "data": { "id": order_id } })
}

fn renewable(h: &ZjmfHost) -> bool {
    matches!(h.status, HostStatus::Active | HostStatus::Suspended)
}
