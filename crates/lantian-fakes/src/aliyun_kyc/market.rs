//! An Aliyun market two-factor seller in 数脉's shape: an injected fault,
//! the API gateway's AppCode check, then the seller's parameter checks and
//! the answer from the outcome table.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::json;

use super::faults::Fault;
use super::outcome::{self, Outcome};
use super::params::Parts;
use super::reply;
use super::{KycApi, Shared};

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parts = Parts::read(uri.query(), &headers, &body);
    let request_id = shared.request_ids.next();
    match shared.receive(KycApi::Market, &method, &uri, &headers, &parts) {
        Some(Fault::Hang) => {
            shared.hang().await;
            return reply::market_gateway(&request_id, StatusCode::SERVICE_UNAVAILABLE, "The fake is stopping");
        }
        Some(Fault::Garbage) => return reply::garbage(),
        Some(Fault::Error(code)) => {
            let status = code
                .parse()
                .ok()
                .and_then(|code| StatusCode::from_u16(code).ok())
                .filter(|status| status.is_client_error() || status.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return reply::market_gateway(&request_id, status, "Fault injected by the fake");
        }
        None => {}
    }
    let appcode =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("APPCODE "));
    if appcode != Some(shared.appcode.as_str()) {
        return reply::market_gateway(&request_id, StatusCode::UNAUTHORIZED, "Invalid AppCode");
    }

    let params = parts.merged().unwrap_or_default();
    let (name, id_number) = (params.get("name"), params.get("idcard"));
    let outcome = outcome::decide(name.map_or("", String::as_str), id_number.map_or("", String::as_str));
    let (res, description) = match outcome {
        Outcome::Missing => {
            return reply::market(&request_id, &json!({ "code": "400", "message": "参数错误：name 和 idcard 必填" }));
        }
        Outcome::Malformed => {
            return reply::market(&request_id, &json!({ "code": "400", "message": "参数错误：身份证号格式不正确" }));
        }
        Outcome::Match => ("1", "一致"),
        Outcome::Mismatch => ("2", "不一致"),
        Outcome::NotFound => ("3", "无记录"),
    };
    let (sex, birthday) = outcome::sex_and_birthday(id_number.map_or("", String::as_str));
    let body = json!({
        "code": "0",
        "message": "成功",
        "result": { "res": res, "description": description, "sex": sex, "birthday": birthday },
    });
    reply::market(&request_id, &body)
}
