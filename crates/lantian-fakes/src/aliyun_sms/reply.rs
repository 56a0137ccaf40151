//! The JSON replies, shaped like dysmsapi's: gateway refusals carry an HTTP
//! error status, while the SMS service's own refusals come back as HTTP 200
//! with a `Code` other than `OK`, which is what clients must look at.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::aliyun_gateway::Failure;

/// The `HostId` Aliyun's gateway errors name.
const HOST_ID: &str = "dysmsapi.aliyuncs.com";

/// The SMS service's own refusals, here as only this fake makes them:
/// HTTP 200 with a `Code`, where the gateway's carry an error status.
impl Failure {
    /// A refusal by the SMS service: HTTP 200 and a non-OK `Code`.
    pub(super) fn business(code: &str, message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::OK, code, message)
    }

    fn is_business(&self) -> bool {
        self.status == StatusCode::OK
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Body<'a> {
    request_id: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    biz_id: Option<&'a str>,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommend: Option<String>,
}

/// HTTP 200 `{"RequestId","Message":"OK","BizId","Code":"OK"}`.
pub(super) fn accepted(request_id: &str, biz_id: &str) -> Response {
    json(
        StatusCode::OK,
        &Body { request_id, message: "OK", biz_id: Some(biz_id), code: "OK", host_id: None, recommend: None },
    )
}

/// The failure's status and `{"RequestId","Message","Code"}`, plus `HostId`
/// and `Recommend` for gateway refusals as Aliyun adds them.
pub(super) fn refused(request_id: &str, failure: &Failure) -> Response {
    let gateway = !failure.is_business();
    let body = Body {
        request_id,
        message: &failure.message,
        biz_id: None,
        code: &failure.code,
        host_id: gateway.then_some(HOST_ID),
        recommend: gateway.then(|| {
            format!("https://api.aliyun.com/troubleshoot?q={}&product=Dysmsapi&requestId={request_id}", failure.code)
        }),
    };
    json(failure.status, &body)
}

fn json(status: StatusCode, body: &Body<'_>) -> Response {
    // Serialising a struct of strings cannot fail; an empty object would
    // still be a reply a client can choke on visibly.
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    (status, [(header::CONTENT_TYPE, "application/json;charset=utf-8")], text).into_response()
}

/// Makes `RequestId`s: uppercase, UUID-shaped and unique, like Aliyun's.
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
        let high = self.keys.hash_one((n, 0u8));
        let low = self.keys.hash_one((n, 1u8));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_shaped_and_unique() {
        let ids = RequestIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        let groups: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase()), "{a}");
    }
}
