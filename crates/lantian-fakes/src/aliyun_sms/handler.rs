//! The SendSms endpoint, in the order Aliyun would refuse things: injected
//! faults, the gateway's checks, the nonce, the SMS service's checks, then
//! limit control.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::query;
use super::reply;
use super::send_sms;
use super::store::ReceivedSms;
use crate::aliyun_gateway::{self, Api, Failure, Incoming};
use crate::harness::HangUp;

/// dysmsapi's SendSms, whose fake refuses another action or version as an
/// invalid parameter, naming the one it serves.
const SEND_SMS: Api = Api {
    action: "SendSms",
    version: "2017-05-25",
    wrong_action: |action| {
        Failure::invalid(format!("Specified parameter x-acs-action \"{action}\" is not valid: only SendSms."))
    },
    wrong_version: |version| {
        Failure::invalid(format!("Specified parameter x-acs-version \"{version}\" is not valid: only 2017-05-25."))
    },
};

pub(super) async fn send_sms(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<HangUp>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.attempts.fetch_add(1, Ordering::SeqCst);
    let delay = shared.faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if shared.faults.take_drop() {
        connection.hang_up();
        // Never reaches the client: the connection closes instead.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }

    let request_id = shared.request_ids.next();
    match handle(&shared, &method, &uri, &headers, &body) {
        Ok(sms) => {
            tracing::info!(id = sms.id, to = ?sms.phone_numbers, template = %sms.template_code, "SMS fake accepted a message");
            reply::accepted(&request_id, &sms.biz_id)
        }
        Err(failure) => {
            tracing::debug!(code = %failure.code, message = %failure.message, "SMS fake refused a request");
            reply::refused(&request_id, &failure)
        }
    }
}

fn handle(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ReceivedSms, Failure> {
    if shared.faults.take_unavailable() {
        return Err(Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ));
    }
    if shared.faults.take_server_error() {
        return Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "The request processing has failed due to some unknown error, exception or failure.",
        ));
    }

    let params = query::parse(uri.query().unwrap_or(""))?;
    let incoming = Incoming { method: method.as_str(), path: uri.path(), query: &params, headers, body };
    let now = (shared.now)();
    let nonce = aliyun_gateway::verify(&SEND_SMS, &incoming, &shared.credentials, now)?;
    shared.store().nonces.spend(nonce, now)?;
    let sms = send_sms::validate(&params, &shared.catalog)?;
    if let Some(code) = shared.faults.take_failure() {
        return Err(Failure::business(&code, format!("故障注入 Fault injected by the fake: {code}")));
    }
    shared.store().admit(sms, shared.limits, now)
}
