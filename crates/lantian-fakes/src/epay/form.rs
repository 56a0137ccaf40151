//! Reading the fields of a request (query string and form body, as PHP's
//! `$_REQUEST` sees them) and writing them into a URL.

use std::collections::BTreeMap;

use crate::form::percent_decode as decode;
use axum::body::{Bytes, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, header};

/// A request's decoded fields by name.
pub(super) type Fields = BTreeMap<String, String>;

/// No EPay request comes anywhere near this.
const BODY_LIMIT: usize = 64 * 1024;

/// The method and fields of a request; the fields are an error message when
/// they cannot be read unambiguously.
pub(super) async fn read(request: Request) -> (String, Result<Fields, String>) {
    let (parts, body) = request.into_parts();
    let method = parts.method.to_string();
    let fields = match to_bytes(body, BODY_LIMIT).await {
        Ok(body) => fields(parts.uri.query(), &parts.headers, &body),
        Err(_) => Err("请求体过大 (request body too large)".to_owned()),
    };
    (method, fields)
}

fn fields(query: Option<&str>, headers: &HeaderMap, body: &Bytes) -> Result<Fields, String> {
    let mut fields = Fields::new();
    add(&mut fields, query.unwrap_or(""))?;
    if !body.is_empty() {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(format!(
                "不支持的请求格式 (only application/x-www-form-urlencoded bodies, not {content_type:?})"
            ));
        }
        let text = std::str::from_utf8(body).map_err(|_| "请求体不是UTF-8 (body is not UTF-8)".to_owned())?;
        add(&mut fields, text)?;
    }
    Ok(fields)
}

/// Adds the `k=v&k=v` pairs of `text`: `%XX` escapes and `+` as a space.
/// A name given twice is refused rather than guessed at, since the two
/// readings would sign differently.
fn add(fields: &mut Fields, text: &str) -> Result<(), String> {
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| decode(text).ok_or_else(|| format!("参数格式错误 (malformed parameter {pair:?})"));
        let name = decode(name)?;
        if fields.insert(name.clone(), decode(value)?).is_some() {
            return Err(format!("参数重复 (parameter {name:?} given more than once)"));
        }
    }
    Ok(())
}

/// `k=v&k=v` with every byte but `A-Za-z0-9-_.~` percent-encoded.
pub(super) fn encode(fields: &Fields) -> String {
    let pairs: Vec<String> = fields.iter().map(|(name, value)| format!("{}={}", escape(name), escape(value))).collect();
    pairs.join("&")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` with `fields` added to its query string.
pub(super) fn with_query(url: &str, fields: &Fields) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{}", encode(fields))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn form_headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers
    }

    #[test]
    fn reads_query_and_form_body_together() {
        let body = Bytes::from_static(b"name=%E4%BA%91+1&money=12.50&param=");
        let fields =
            fields(Some("act=refund"), &form_headers("application/x-www-form-urlencoded; charset=UTF-8"), &body)
                .unwrap();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("act", "refund"), ("money", "12.50"), ("name", "云 1"), ("param", "")]);
    }

    #[test]
    fn refuses_ambiguous_or_foreign_input() {
        let none = HeaderMap::new();
        for bad in ["a=1&a=2", "a=%zz", "a=%FF", "a=%2"] {
            assert!(fields(Some(bad), &none, &Bytes::new()).is_err(), "{bad}");
        }
        // The same name in the query and the body is given twice too.
        let form = form_headers("application/x-www-form-urlencoded");
        assert!(fields(Some("a=1"), &form, &Bytes::from_static(b"a=1")).is_err());
        assert!(fields(None, &form_headers("application/json"), &Bytes::from_static(b"{}")).is_err());
    }

    #[test]
    fn encodes_for_urls() {
        let fields: Fields = [("b", "云 &="), ("a", "x~y")].iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        assert_eq!(encode(&fields), "a=x~y&b=%E4%BA%91%20%26%3D");
        assert_eq!(with_query("https://m.example/r", &fields), format!("https://m.example/r?{}", encode(&fields)));
        assert_eq!(
            with_query("https://m.example/r?x=1", &fields),
            format!("https://m.example/r?x=1&{}", encode(&fields))
        );
        assert_eq!(super::decode(&encode(&fields)).unwrap(), "a=x~y&b=云 &=");
    }
}
