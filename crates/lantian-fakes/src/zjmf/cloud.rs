//! The 魔方云 server module's power calls (`/console/v1/mf_cloud/{id}/…`).
//! The fake's servers switch at once; the real ones pass through
//! `operating` for a moment.

use serde_json::{Value, json};

use super::host::{missing, refused};
use super::reply;
use super::store::{HostStatus, Store};

/// `data.status`: `on`, `off`, or `suspend` for a suspended host.
pub(super) fn status(store: &Store, id: u64) -> Value {
    let Some(h) = store.host(id) else { return missing() };
    let (status, desc) = match h.status {
        HostStatus::Suspended => ("suspend", "已暂停"),
        HostStatus::Active if h.power_on => ("on", "开机"),
        HostStatus::Active => ("off", "关机"),
        _ => return refused(h),
    };
    reply::ok("请求成功", json!({ "status": status, "desc": desc }))
}

/// `on`, `off`, `hard_off`, `reboot`, `hard_reboot`; refused when the server
/// is already in the state asked for, as the real module refuses.
pub(super) fn act(store: &mut Store, id: u64, action: &str) -> Value {
    let Some(h) = store.host_mut(id) else { return missing() };
    if h.status != HostStatus::Active {
        return refused(h);
    }
    let (power_on, msg) = match (action, h.power_on) {
        ("on", true) => return reply::fail(400, "实例已开机"),
        ("off" | "hard_off" | "reboot" | "hard_reboot", false) => return reply::fail(400, "实例已关机"),
        ("on", false) => (true, "开机发起成功"),
        ("off", true) => (false, "关机发起成功"),
        ("hard_off", true) => (false, "强制关机发起成功"),
        ("reboot", true) => (true, "重启发起成功"),
        ("hard_reboot", true) => (true, "强制重启发起成功"),
        _ => return reply::fail(404, "接口不存在"),
    };
    h.power_on = power_on;
    reply::done(msg)
}
