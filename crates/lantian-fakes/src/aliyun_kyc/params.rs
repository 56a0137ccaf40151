//! Reading a request's parameters from its query string and its form body,
//! kept apart so tests can see where a client put each value.

use std::collections::BTreeMap;

use crate::form::percent_decode as decode;
use axum::http::{HeaderMap, header};

/// Decoded parameters by name.
pub(super) type Params = BTreeMap<String, String>;

/// The parameters of the query string and of the body; `None` where they
/// cannot be read unambiguously (malformed, a name given twice, a body that
/// is not a UTF-8 form).
pub(super) struct Parts {
    pub query: Option<Params>,
    pub form: Option<Params>,
}

impl Parts {
    pub(super) fn read(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Parts {
        Parts { query: decode_pairs(query.unwrap_or("")), form: form(headers, body) }
    }

    /// Both sets together, as the services read them; `None` when either is
    /// unreadable or a name appears in both.
    pub(super) fn merged(&self) -> Option<Params> {
        let (query, form) = (self.query.as_ref()?, self.form.as_ref()?);
        let mut all = query.clone();
        for (name, value) in form {
            if all.insert(name.clone(), value.clone()).is_some() {
                return None;
            }
        }
        Some(all)
    }
}

fn form(headers: &HeaderMap, body: &[u8]) -> Option<Params> {
    if body.is_empty() {
        return Some(Params::new());
    }
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return None;
    }
    decode_pairs(std::str::from_utf8(body).ok()?)
}

/// Decodes `k=v&k=v`: `%XX` escapes and `+` as a space.
fn decode_pairs(text: &str) -> Option<Params> {
    let mut params = Params::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if params.insert(decode(name)?, decode(value)?).is_some() {
            return None;
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8".parse().unwrap());
        headers
    }

    #[test]
    fn keeps_query_and_body_apart() {
        let parts = Parts::read(Some("a=1"), &form_headers(), "UserName=%E7%8E%8B%E4%BA%94&b=x+y".as_bytes());
        assert_eq!(parts.query.as_ref().unwrap().len(), 1);
        let form = parts.form.as_ref().unwrap();
        assert_eq!((form["UserName"].as_str(), form["b"].as_str()), ("王五", "x y"));
        assert_eq!(parts.merged().unwrap().len(), 3);

        assert!(Parts::read(Some("b=1"), &form_headers(), b"b=2").merged().is_none(), "b in both");
        assert!(Parts::read(Some("a=%zz"), &form_headers(), b"").query.is_none());
        assert!(Parts::read(None, &HeaderMap::new(), b"{\"a\":1}").form.is_none(), "not a form");
        assert!(Parts::read(None, &HeaderMap::new(), b"").merged().unwrap().is_empty());
    }
}
