//! ZJMF's answers: always HTTP 200, the outcome in the body's `status`
//! (200 success, 400 refused, 401 not logged in) with a Chinese `msg`; and
//! the faults' unreadable ones.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Success with `data`.
pub(super) fn ok(msg: &str, data: Value) -> Value {
    json!({ "status": 200, "msg": msg, "data": data })
}

/// Success without data.
pub(super) fn done(msg: &str) -> Value {
    json!({ "status": 200, "msg": msg })
}

/// A refusal: status 400 for what the call cannot do, 401 for a missing or
/// expired login.
pub(super) fn fail(status: u16, msg: &str) -> Value {
    json!({ "status": status, "msg": msg })
}

/// A missing or malformed parameter, as ThinkPHP's validators answer.
pub(super) fn bad_param() -> Value {
    fail(400, "参数错误")
}

/// Yuan with two decimals, as ZJMF writes amounts (`"30.00"`).
pub(super) fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

/// The answer on the wire: HTTP 200 and the JSON body.
pub(super) fn http(body: &Value) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

/// HTTP 200 with an HTML page, as a proxy or a PHP fatal error answers.
pub(super) fn html() -> Response {
    let page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// HTTP 200 with JSON that stops half-way.
pub(super) fn broken_json() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], r#"{"status":200,"msg":"成功","da"#)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_yuan() {
        assert_eq!((yuan(3_000), yuan(5), yuan(0)), ("30.00".into(), "0.05".into(), "0.00".into()));
    }
}
