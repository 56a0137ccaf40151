//! Proxmox's answers: `{"data": …}` on success; on failure the status, `{"data":null}` with
//! the error text in `message` (as libpve-http-server-perl 5.2.0 and later send it) and, on a
//! 400, `errors` naming each refused parameter.
//!
//! Real Proxmox also puts the text in the HTTP reason phrase. The fake keeps the standard
//! phrase: axum sets a custom one only through hyper's own types, which this crate does not
//! depend on.

use std::collections::BTreeMap;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const JSON: &str = "application/json;charset=UTF-8";

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PveError {
    pub status: u16,
    pub message: String,
    pub errors: BTreeMap<String, String>,
}

impl PveError {
    pub(super) fn new(status: u16, message: impl Into<String>) -> PveError {
        PveError { status, message: message.into(), errors: BTreeMap::new() }
    }

    /// The `die` of a handler: HTTP 500 with its text.
    pub(super) fn internal(message: impl Into<String>) -> PveError {
        PveError::new(500, message)
    }

    /// A parameter the schema refuses: HTTP 400 "Parameter verification failed."
    pub(super) fn param(name: &str, message: impl Into<String>) -> PveError {
        let mut error = PveError::new(400, "Parameter verification failed.");
        error.errors.insert(name.to_owned(), message.into());
        error
    }

    pub(super) fn no_config(node: &str, vmid: u32) -> PveError {
        PveError::internal(format!("Configuration file 'nodes/{node}/qemu-server/{vmid}.conf' does not exist"))
    }

    pub(super) fn locked(lock: &str) -> PveError {
        PveError::internal(format!("VM is locked ({lock})"))
    }
}

/// The answer to a request: `data`, or the error.
pub(super) fn answer(result: Result<Value, PveError>, ids_as_strings: bool) -> Response {
    match result {
        Ok(mut data) => {
            if ids_as_strings {
                stringify_numbers(&mut data);
            }
            json_response(StatusCode::OK, &json!({ "data": data }))
        }
        Err(error) => refused(&error),
    }
}

pub(super) fn refused(error: &PveError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Proxmox ends its messages with a newline.
    let mut body = json!({ "data": null, "message": format!("{}\n", error.message) });
    if !error.errors.is_empty() {
        body["errors"] = json!(error.errors);
    }
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, JSON)], body.to_string()).into_response()
}

/// HTTP 200 with an HTML page, as a misconfigured reverse proxy answers.
pub(super) fn html() -> Response {
    let page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

/// Every number as a string, as some Proxmox versions send ids, sizes and flags.
fn stringify_numbers(value: &mut Value) {
    match value {
        Value::Number(n) => *value = Value::String(n.to_string()),
        Value::Array(items) => items.iter_mut().for_each(stringify_numbers),
        Value::Object(fields) => fields.values_mut().for_each(stringify_numbers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_every_number_into_a_string() {
        let mut data = json!([{"vmid": 101, "name": "lc-1", "maxmem": 2.5, "template": 0}]);
        stringify_numbers(&mut data);
        assert_eq!(data, json!([{"vmid": "101", "name": "lc-1", "maxmem": "2.5", "template": "0"}]));
    }
}
