//! The JSON replies. Refusals come back as HTTP 200 with an error `code`,
//! as real gateways answer: clients must read the body, not the status.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Shared;
use super::form::Fields;
use super::signing::content;

/// HTTP 200 with `body` as JSON.
pub(super) fn json(body: &Value) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response()
}

/// `submit.php`'s refusal: `{"code":"error","msg":…}`.
pub(super) fn submit_error(msg: &str) -> Response {
    json(&json!({ "code": "error", "msg": msg }))
}

/// Every other refusal, V1 and V2: `{"code":-1,"msg":…}` (unsigned in V2
/// too; a client must not act on a refusal anyway).
pub(super) fn error(msg: &str) -> Response {
    json(&json!({ "code": -1, "msg": msg }))
}

/// The fields of a `json!({…})` object literal.
pub(super) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(fields) => fields,
        _ => Map::new(),
    }
}

/// A V2 success: `code` 0, `msg`, the `fields`, and `timestamp`,
/// `sign_type` = `RSA` and `sign` by the platform key.
pub(super) fn v2_ok(shared: &Shared, msg: &str, mut fields: Map<String, Value>) -> Response {
    fields.insert("code".to_owned(), json!(0));
    fields.insert("msg".to_owned(), json!(msg));
    fields.insert("timestamp".to_owned(), json!(shared.now_ms().div_euclid(1000).to_string()));
    let signature = shared.platform_key.sign(&content(&signed_fields(&fields)));
    fields.insert("sign".to_owned(), json!(signature));
    fields.insert("sign_type".to_owned(), json!("RSA"));
    json(&Value::Object(fields))
}

/// The fields of a JSON reply as the signature covers them: strings as
/// they are, numbers and booleans as their JSON text; `null`, arrays and
/// objects never take part.
pub(super) fn signed_fields(reply: &Map<String, Value>) -> Fields {
    reply
        .iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                Value::Null | Value::Array(_) | Value::Object(_) => return None,
            };
            Some((name.clone(), text))
        })
        .collect()
}

/// A plain HTTP 500, as a crashed PHP back-end answers.
pub(super) fn server_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "500 Internal Server Error",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_fields_take_scalars_only() {
        let reply = json!({ "code": 0, "msg": "succ", "money": "12.50", "ok": true, "endtime": null, "list": [1] });
        assert_eq!(content(&signed_fields(&object(reply))), "code=0&money=12.50&msg=succ&ok=true");
    }
}
