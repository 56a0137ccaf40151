//! The refund plugin (idcsmart_refund): a reseller terminates a host by
//! asking to stop it (停用). The fake needs no staff review: an
//! `Immediate` request deletes the host at once and refunds nothing.

use serde_json::{Value, json};

use super::host::{missing, refused};
use super::params::Params;
use super::reply;
use super::store::{HostStatus, Store};

pub(super) fn refund(store: &mut Store, params: &Params) -> Value {
    let Some(id) = params.int("host_id").and_then(|id| u64::try_from(id).ok()) else {
        return reply::bad_param();
    };
    if params.text("type") != Some("Immediate") {
        return reply::fail(400, "停用时间错误: 仅支持 Immediate");
    }
    let Some(h) = store.host_mut(id) else { return missing() };
    if h.refunded {
        return reply::fail(400, "已申请停用,请勿重复申请");
    }
    if !matches!(h.status, HostStatus::Active | HostStatus::Suspended | HostStatus::Pending) {
        return refused(h);
    }
    h.status = HostStatus::Deleted;
    h.refunded = true;
    h.power_on = false;
    h.ip = None;
    reply::done("申请停用成功")
}

/// The host's stop request: `refund.status` (`Pending` review … `Suspended`
/// stopped), or an empty object when there is none.
pub(super) fn show(store: &Store, id: u64) -> Value {
    let Some(h) = store.host(id) else { return missing() };
    let refund = if h.refunded {
        json!({ "id": h.id, "amount": -1, "type": "Immediate", "status": "Suspended" })
    } else {
        json!({})
    };
    reply::ok("请求成功", json!({ "refund": refund }))
}
