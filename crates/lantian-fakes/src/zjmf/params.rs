//! A request's parameters: the query string and the JSON body, read as
//! ThinkPHP's `request()->param()` reads them (body over query, numbers
//! given as numbers or as strings).

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::{HeaderMap, Uri, header};
use serde_json::{Map, Value};

pub(super) struct Params {
    pub query: BTreeMap<String, String>,
    /// `Null` when there was no body or it was not a JSON object.
    pub body: Value,
    all: Map<String, Value>,
}

impl Params {
    pub fn read(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Params {
        let query = Query::<BTreeMap<String, String>>::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        let body = if is_json { serde_json::from_slice(body).ok().filter(Value::is_object) } else { None };
        let body = body.unwrap_or(Value::Null);
        let mut all: Map<String, Value> = query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        if let Value::Object(fields) = &body {
            all.extend(fields.clone());
        }
        Params { query, body, all }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.all.get(name)
    }

    /// A number, given as a number or as digits.
    pub fn int(&self, name: &str) -> Option<i64> {
        int(self.get(name)?)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_str()
    }
}

/// A JSON number or a string of digits, as PHP reads both.
pub(super) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_over_query_and_numbers_as_strings() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let uri: Uri = "/x?id=7&page=2".parse().unwrap();
        let params = Params::read(&uri, &headers, br#"{"id":"9","name":"lc-1"}"#);
        assert_eq!((params.int("id"), params.int("page")), (Some(9), Some(2)));
        assert_eq!(params.text("name"), Some("lc-1"));
        assert_eq!(params.query.len(), 2);
        let not_json = Params::read(&uri, &HeaderMap::new(), b"id=9");
        assert_eq!((&not_json.body, not_json.int("id")), (&Value::Null, Some(7)));
    }
}
