//! The routes of ZJMF's client API the fake serves (route/home.php and the
//! refund, renew and mf_cloud plugins' routes), behind the login check.

use axum::http::{HeaderMap, Method};
use serde_json::Value;

use super::params::Params;
use super::{Shared, auth, cart, cloud, host, order, refund, renew, reply};

pub(super) fn dispatch(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    params: &Params,
    now: i64,
) -> Value {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let Some(rest) = segments.strip_prefix(&["console", "v1"]) else {
        return match (method.as_str(), segments.as_slice()) {
            ("POST", ["api", "v1", "auth"]) => auth::login(shared, params),
            _ => not_found(),
        };
    };
    if !auth::authorized(shared, headers) {
        return reply::fail(401, "登录信息已失效,请重新登录");
    }
    let mut store = shared.store();
    store.advance(now);
    let store = &mut *store;
    match (method.as_str(), rest) {
        ("DELETE", ["cart"]) => cart::clear(store, params),
        ("POST", ["cart"]) => cart::add(store, params),
        ("POST", ["cart", "settle"]) => cart::settle(store, params, now),
        ("POST", ["pay"]) => order::pay(store, params, now),
        ("POST", ["credit"]) => order::credit(store, params),
        ("GET", ["order", id]) => with_id(id, |id| order::show(store, id)),
        ("GET", ["host"]) => host::list(store, params),
        ("GET", ["host", id]) => with_id(id, |id| host::show(store, id)),
        ("GET", ["host", id, "ip"]) => with_id(id, |id| host::ip(store, id)),
        ("PUT", ["host", id, "notes"]) => with_id(id, |id| host::notes(store, id, params)),
        ("POST", ["host", id, "module", "suspend"]) => with_id(id, |id| host::suspend(store, id, params)),
        ("POST", ["host", id, "module", "unsuspend"]) => with_id(id, |id| host::unsuspend(store, id)),
        ("GET", ["host", id, "renew"]) => with_id(id, |id| renew::page(store, id)),
        ("POST", ["host", id, "renew"]) => with_id(id, |id| renew::renew(store, id, params, now)),
        ("POST", ["refund"]) => refund::refund(store, params),
        ("GET", ["refund", "host", id, "refund"]) => with_id(id, |id| refund::show(store, id)),
        ("GET", ["mf_cloud", id, "status"]) => with_id(id, |id| cloud::status(store, id)),
        ("POST", ["mf_cloud", id, action]) => with_id(id, |id| cloud::act(store, id, action)),
        _ => not_found(),
    }
}

/// Routes take numeric ids only (`'id' => '\d+'`); anything else matches no
/// route.
fn with_id(id: &str, handler: impl FnOnce(u64) -> Value) -> Value {
    match id.parse() {
        Ok(id) => handler(id),
        Err(_) => not_found(),
    }
}

fn not_found() -> Value {
    reply::fail(404, "接口不存在")
}
