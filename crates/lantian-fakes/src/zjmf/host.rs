//! Hosts (HostController): the list, one host, its IP addresses, its client
//! notes, and the module suspend / unsuspend calls.

use serde_json::{Value, json};

use super::params::Params;
use super::reply;
use super::store::{HostStatus, Store, ZjmfHost};

/// The real route caps a page at 50.
const MAX_LIMIT: i64 = 50;

const SUSPEND_TYPES: [&str; 5] = ["overdue", "overtraffic", "certification_not_complete", "other", "downstream"];

/// `page` (from 1) and `limit` (up to 50), by id: `sort` `desc` newest first, otherwise
/// oldest first (the only `orderby` modelled is the id). Deleted hosts stay listed, with their
/// status, as in the real list.
pub(super) fn list(store: &Store, params: &Params) -> Value {
    let page = params.int("page").unwrap_or(1).max(1);
    let limit = params.int("limit").unwrap_or(20).clamp(1, MAX_LIMIT);
    let mut hosts = store.hosts();
    if params.text("sort") == Some("desc") {
        hosts.reverse();
    }
    let skip = usize::try_from((page - 1) * limit).unwrap_or(usize::MAX);
    let list: Vec<Value> = hosts
        .iter()
        .skip(skip)
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|h| {
            json!({
                "id": h.id,
                "product_id": h.product_id,
                "name": h.name,
                "status": h.status.as_str(),
                "client_notes": h.client_notes,
                "due_time": h.due_ms / 1000,
            })
        })
        .collect();
    reply::ok("请求成功", json!({ "list": list, "count": hosts.len() }))
}

pub(super) fn show(store: &Store, id: u64) -> Value {
    let Some(h) = store.host(id) else { return missing() };
    let host = json!({
        "id": h.id,
        "order_id": h.order_id,
        "product_id": h.product_id,
        "name": h.name,
        "status": h.status.as_str(),
        "suspend_reason": h.suspend_reason,
        "due_time": h.due_ms / 1000,
        "client_notes": h.client_notes,
    });
    reply::ok("请求成功", json!({ "host": host, "self_defined_field": [] }))
}

pub(super) fn ip(store: &Store, id: u64) -> Value {
    let Some(h) = store.host(id) else { return missing() };
    let ip = h.ip.clone().unwrap_or_default();
    let ip_num = usize::from(!ip.is_empty());
    reply::ok("请求成功", json!({ "dedicate_ip": ip, "assign_ip": "", "ip_num": ip_num }))
}

pub(super) fn notes(store: &mut Store, id: u64, params: &Params) -> Value {
    let Some(notes) = params.text("notes").filter(|n| n.chars().count() <= 1000) else {
        return reply::bad_param();
    };
    let Some(h) = store.host_mut(id) else { return missing() };
    h.client_notes = notes.to_owned();
    reply::done("修改成功")
}

/// Refused when already suspended, as the real module call is: it is not
/// safe to repeat.
pub(super) fn suspend(store: &mut Store, id: u64, params: &Params) -> Value {
    if !params.text("suspend_type").is_some_and(|t| SUSPEND_TYPES.contains(&t)) {
        return reply::fail(400, "暂停类型错误");
    }
    let reason = params.text("suspend_reason").unwrap_or("").to_owned();
    let Some(h) = store.host_mut(id) else { return missing() };
    match h.status {
        HostStatus::Active => {
            h.status = HostStatus::Suspended;
            h.power_on = false;
            h.suspend_reason = reason;
            reply::done("暂停成功")
        }
        HostStatus::Suspended => reply::fail(400, "产品已暂停"),
        _ => refused(h),
    }
}

pub(super) fn unsuspend(store: &mut Store, id: u64) -> Value {
    let Some(h) = store.host_mut(id) else { return missing() };
    if h.status != HostStatus::Suspended {
        return reply::fail(400, "产品不是暂停状态");
    }
    h.status = HostStatus::Active;
    h.power_on = true;
    h.suspend_reason.clear();
    reply::done("解除暂停成功")
}

pub(super) fn missing() -> Value {
    reply::fail(400, "产品不存在")
}

/// A call the host's state does not allow.
pub(super) fn refused(h: &ZjmfHost) -> Value {
    reply::fail(400, &format!("产品状态为{},不能执行此操作", h.status.as_str()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::http::{HeaderMap, Uri};

    use super::*;

    fn store_with(hosts: u64) -> Store {
        let mut store = Store::new(0, BTreeMap::new(), 0);
        for _ in 0..hosts {
            store.add_host(ZjmfHost {
                id: 0,
                order_id: 0,
                product_id: 101,
                name: String::new(),
                status: HostStatus::Active,
                downstream_host_id: 0,
                downstream_token: String::new(),
                config_options: json!({}),
                customfield: json!({}),
                client_notes: String::new(),
                ip: None,
                power_on: true,
                months: 1,
                due_ms: 0,
                suspend_reason: String::new(),
                refunded: false,
                active_at_ms: None,
            });
        }
        store
    }

    fn ids(store: &Store, query: &str) -> (Vec<u64>, i64) {
        let uri: Uri = format!("/console/v1/host?{query}").parse().unwrap();
        let answer = list(store, &Params::read(&uri, &HeaderMap::new(), b""));
        let list = answer["data"]["list"].as_array().unwrap().iter().map(|h| h["id"].as_u64().unwrap()).collect();
        (list, answer["data"]["count"].as_i64().unwrap())
    }

    #[test]
    fn pages_by_id_in_either_order() {
        let store = store_with(3);
        assert_eq!(ids(&store, "page=1&limit=2"), (vec![5001, 5002], 3));
        assert_eq!(ids(&store, "page=2&limit=2&orderby=id&sort=asc"), (vec![5003], 3));
        assert_eq!(ids(&store, "page=1&limit=2&sort=desc"), (vec![5003, 5002], 3));
        assert_eq!(ids(&store, "page=3&limit=2"), (vec![], 3));
        assert_eq!(ids(&store_with(60), "limit=100").0.len(), 50, "at most 50 a page");
    }
}
