//! Cloudauth `Id2MetaVerify`, in the order Aliyun would refuse things:
//! an injected fault, the gateway's checks, the nonce, then the service's
//! own parameter checks and the answer from the outcome table.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

use super::faults::Fault;
use super::outcome::{self, Outcome};
use super::params::Parts;
use super::reply;
use super::{KycApi, Shared};
use crate::aliyun_gateway::{self, Api, Failure, Incoming};

/// Cloudauth's Id2MetaVerify, whose fake refuses another action or version
/// as Aliyun's gateway words it for an unknown API.
const ID2META_VERIFY: Api = Api {
    action: "Id2MetaVerify",
    version: "2019-03-07",
    wrong_action: |_| Failure::new(StatusCode::NOT_FOUND, "InvalidAction.NotFound", "Specified api is not found."),
    wrong_version: |_| {
        Failure::new(StatusCode::BAD_REQUEST, "InvalidVersion", "Specified parameter Version is not valid.")
    },
};

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parts = Parts::read(uri.query(), &headers, &body);
    let request_id = shared.request_ids.next();
    match shared.receive(KycApi::Cloudauth, &method, &uri, &headers, &parts) {
        Some(Fault::Hang) => {
            shared.hang().await;
            let failure = Failure::new(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "The fake is stopping.");
            return reply::refused(&request_id, &failure);
        }
        Some(Fault::Garbage) => return reply::garbage(),
        Some(Fault::Error(code)) => {
            return reply::cloudauth(&request_id, &code, "故障注入 Fault injected by the fake", None);
        }
        None => {}
    }
    match verified_outcome(&shared, &method, &uri, &headers, &body, &parts) {
        Ok(outcome) => {
            let (code, message, biz_code) = match outcome {
                Outcome::Missing => ("400", "参数不能为空", None),
                Outcome::Malformed => ("401", "参数非法", None),
                Outcome::Match => ("200", "success", Some("1")),
                Outcome::Mismatch => ("200", "success", Some("2")),
                Outcome::NotFound => ("200", "success", Some("3")),
            };
            reply::cloudauth(&request_id, code, message, biz_code)
        }
        Err(failure) => reply::refused(&request_id, &failure),
    }
}

fn verified_outcome(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    parts: &Parts,
) -> Result<Outcome, Failure> {
    let unreadable = || Failure::invalid("The query string or form body cannot be read.");
    let query = parts.query.as_ref().ok_or_else(unreadable)?;
    let params = parts.merged().ok_or_else(unreadable)?;
    let incoming = Incoming { method: method.as_str(), path: uri.path(), query, headers, body };
    let now = (shared.now)();
    let nonce = aliyun_gateway::verify(&ID2META_VERIFY, &incoming, &shared.credentials, now)?;
    shared.store().nonces.spend(nonce, now)?;
    let param = |name: &str| params.get(name).map_or("", String::as_str);
    Ok(match param("ParamType") {
        "" => Outcome::Missing,
        "normal" => outcome::decide(param("UserName"), param("IdentifyNum")),
        // The MD5 mode exists for other APIs, not this one.
        _ => Outcome::Malformed,
    })
}
