//! The answers, shaped like the real services': Cloudauth's JSON (gateway
//! refusals with an HTTP error status, the service's own with HTTP 200 and a
//! `Code`), the market gateway's bare statuses with `X-Ca-*` headers, and
//! the seller's JSON.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::aliyun_gateway::Failure;

/// The `HostId` Aliyun's gateway errors name.
const HOST_ID: &str = "cloudauth.aliyuncs.com";

const JSON: &str = "application/json;charset=utf-8";
const REQUEST_ID: HeaderName = HeaderName::from_static("x-ca-request-id");
const ERROR_MESSAGE: HeaderName = HeaderName::from_static("x-ca-error-message");

/// A gateway refusal: the failure's status and `{"RequestId","HostId",
/// "Code","Message","Recommend"}`.
pub(super) fn refused(request_id: &str, failure: &Failure) -> Response {
    let body = json!({
        "RequestId": request_id,
        "HostId": HOST_ID,
        "Code": failure.code,
        "Message": failure.message,
        "Recommend": format!(
            "https://api.aliyun.com/troubleshoot?q={}&product=Cloudauth&requestId={request_id}",
            failure.code
        ),
    });
    (failure.status, [(header::CONTENT_TYPE, JSON)], body.to_string()).into_response()
}

/// Cloudauth's answer: HTTP 200, `Code` "200" with `ResultObject.BizCode`,
/// or another `Code` and no result.
pub(super) fn cloudauth(request_id: &str, code: &str, message: &str, biz_code: Option<&str>) -> Response {
    let mut body = json!({ "RequestId": request_id, "Code": code, "Message": message });
    if let Some(biz_code) = biz_code {
        body["ResultObject"] = json!({ "BizCode": biz_code });
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, JSON)], body.to_string()).into_response()
}

/// The market seller's JSON, through the gateway.
pub(super) fn market(request_id: &str, body: &Value) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, JSON.to_owned()), (REQUEST_ID, request_id.to_owned())], body.to_string())
        .into_response()
}

/// The market gateway's own refusal: a status, `X-Ca-Error-Message` and
/// no body.
pub(super) fn market_gateway(request_id: &str, status: StatusCode, message: &str) -> Response {
    (status, [(REQUEST_ID, request_id.to_owned()), (ERROR_MESSAGE, message.to_owned())]).into_response()
}

/// HTTP 200 with a body that is not JSON, as a misrouted proxy answers.
pub(super) fn garbage() -> Response {
    let page = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>";
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

/// Makes request ids: uppercase, UUID-shaped and unique, like Aliyun's.
pub(super) struct RequestIds {
    /// Randomly keyed, so two fakes (or two runs) do not repeat each other.
    keys: RandomState,
    next: AtomicU64,
}

impl RequestIds {
    pub(super) fn new() -> RequestIds {
        RequestIds { keys: RandomState::new(), next: AtomicU64::new(0) }
    }

    pub(super) fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let (high, low) = (self.keys.hash_one((n, 0u8)), self.keys.hash_one((n, 1u8)));
        format!(
            "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0xffff,
            low >> 48,
            low & 0xffff_ffff_ffff
        )
    }
}
