//! Every request enters here: it is recorded, meets an armed fault, or is
//! routed; a call armed to drop is carried out and then hung up on.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;

use super::faults::Fault;
use super::params::Params;
use super::store::ReceivedZjmfRequest;
use super::{Shared, reply, route};
use crate::harness::HangUp;

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<HangUp>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::read(&uri, &headers, &body);
    let now = (shared.now)();
    let mut header_names: Vec<String> = headers.keys().map(|name| name.as_str().to_owned()).collect();
    header_names.sort_unstable();
    header_names.dedup();
    shared.store().record(ReceivedZjmfRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: params.query.clone(),
        body: params.body.clone(),
        header_names,
        received_at_ms: now,
    });

    match shared.faults.take_next() {
        Some(Fault::Hang) => {
            shared.hang().await;
            return reply::http(&reply::fail(503, "服务停止"));
        }
        Some(Fault::Html) => return reply::html(),
        Some(Fault::BrokenJson) => return reply::broken_json(),
        None => {}
    }
    let answer = route::dispatch(&shared, &method, uri.path(), &headers, &params, now);
    if shared.faults.take_drop_after(uri.path()) {
        conn.hang_up();
    }
    reply::http(&answer)
}
