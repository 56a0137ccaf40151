//! The checks Aliyun's API gateway makes before the SMS service sees a
//! request: action and version, the time stamp, the AccessKey and the V3
//! signature.
//!
//! The nonce is left to the caller, which checks it against the store only
//! once the signature is good, so a forged request cannot use up the nonce
//! of a real one.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};

use super::reply::Failure;
use super::signature::{self, ALGORITHM, RequestParts};
use crate::form::percent_decode;
use crate::utc;

pub(super) const ACTION: &str = "SendSms";
pub(super) const VERSION: &str = "2017-05-25";

/// How far `x-acs-date` may be from the fake's clock, either way.
const MAX_SKEW_MS: i64 = 15 * 60_000;

/// Headers every request must sign, on top of any other `x-acs-*` it has.
const MUST_SIGN: [&str; 6] =
    ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"];

/// The one AccessKey pair the fake knows.
pub(super) struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
}

/// A request as it arrived.
pub(super) struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A request the gateway lets through.
pub(super) struct Verified {
    /// The decoded query parameters.
    pub params: BTreeMap<String, String>,
    pub nonce: String,
}

pub(super) fn verify(request: &Incoming<'_>, credentials: &Credentials, now_ms: i64) -> Result<Verified, Failure> {
    let params = parse_query(request.query.unwrap_or(""))?;
    let header = |name: &str| single_header(request.headers, name);
    let required = |name: &str| header(name)?.ok_or_else(|| Failure::missing("MissingParameter", name));

    let action = required("x-acs-action")?;
    if action != ACTION {
        return Err(Failure::invalid(format!(
            "Specified parameter x-acs-action \"{action}\" is not valid: only {ACTION}."
        )));
    }
    let version = required("x-acs-version")?;
    if version != VERSION {
        return Err(Failure::invalid(format!(
            "Specified parameter x-acs-version \"{version}\" is not valid: only {VERSION}."
        )));
    }
    let date = required("x-acs-date")?;
    let nonce = required("x-acs-signature-nonce")?;
    let hashed_payload = required("x-acs-content-sha256")?;
    required("host")?;
    let authorization = parse_authorization(required("authorization")?)?;

    let signed = signed_headers(request.headers, &authorization.signed_headers)?;

    let Some(date_ms) = utc::parse_iso8601(date) else {
        return Err(Failure::gateway(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Format",
            format!(
                "Specified time stamp or date value is not well formatted: \"{date}\" is not yyyy-MM-ddTHH:mm:ssZ."
            ),
        ));
    };
    if (date_ms - now_ms).abs() > MAX_SKEW_MS {
        return Err(Failure::gateway(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            format!(
                "Specified time stamp or date value is expired. Request date {date}, server time {}.",
                utc::format_iso8601(now_ms)
            ),
        ));
    }

    if authorization.credential != credentials.access_key_id {
        return Err(Failure::gateway(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    }

    if hashed_payload != signature::sha256_hex(request.body) {
        return Err(Failure::gateway(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            "Specified signature does not match our calculation: \
             x-acs-content-sha256 is not the lowercase hex SHA-256 of the request body.",
        ));
    }

    let canonical_request = signature::canonical_request(&RequestParts {
        method: request.method,
        path: request.path,
        params: &params,
        headers: &signed,
        hashed_payload,
    });
    let string_to_sign = signature::string_to_sign(&canonical_request);
    if signature::sign(&credentials.access_key_secret, &string_to_sign) != authorization.signature {
        // Showing what was signed is what makes a signing bug findable.
        return Err(Failure::gateway(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature does not match our calculation. \
                 The canonical request is: {canonical_request:?}; the string to sign is: {string_to_sign:?}"
            ),
        ));
    }

    Ok(Verified { params, nonce: nonce.to_owned() })
}

/// The value of a header sent at most once; several copies, or a value
/// that is not visible ASCII, cannot be signed unambiguously.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Failure> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Failure::invalid(format!("Header {name} is given more than once.")));
    }
    value.to_str().map(Some).map_err(|_| Failure::invalid(format!("Header {name} is not visible ASCII.")))
}

/// The `(name, value)` pairs of the signed headers, after checking the list
/// is lowercase, sorted, and covers `host` and every `x-acs-*` header.
fn signed_headers<'h>(headers: &'h HeaderMap, names: &[&'h str]) -> Result<Vec<(&'h str, &'h str)>, Failure> {
    if names.iter().any(|name| name.bytes().any(|b| b.is_ascii_uppercase())) {
        return Err(Failure::incomplete_signature("SignedHeaders must be lowercase."));
    }
    if !names.windows(2).all(|pair| pair[0] < pair[1]) {
        return Err(Failure::incomplete_signature("SignedHeaders must be sorted and unique."));
    }
    let present = headers.keys().map(|name| name.as_str()).filter(|name| name.starts_with("x-acs-"));
    if let Some(unsigned) = MUST_SIGN.into_iter().chain(present).find(|name| !names.contains(name)) {
        return Err(Failure::incomplete_signature(&format!("Header {unsigned} must be signed.")));
    }
    names
        .iter()
        .map(|&name| match single_header(headers, name)? {
            Some(value) => Ok((name, value)),
            None => Err(Failure::incomplete_signature(&format!("Signed header {name} is not in the request."))),
        })
        .collect()
}

/// `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>`.
struct Authorization<'a> {
    credential: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, Failure> {
    let Some(fields) = value.strip_prefix(ALGORITHM).and_then(|rest| rest.strip_prefix(' ')) else {
        return Err(Failure::incomplete_signature(&format!("Authorization must start with \"{ALGORITHM} \".")));
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for field in fields.split(',') {
        let (key, value) = field.trim().split_once('=').unwrap_or((field.trim(), ""));
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(Failure::incomplete_signature(&format!("Unknown Authorization field \"{key}\"."))),
        };
        if value.is_empty() || slot.replace(value).is_some() {
            return Err(Failure::incomplete_signature(&format!("Authorization field {key} is empty or repeated.")));
        }
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) => {
            Ok(Authorization { credential, signed_headers: signed_headers.split(';').collect(), signature })
        }
        _ => Err(Failure::incomplete_signature("Authorization needs Credential, SignedHeaders and Signature.")),
    }
}

/// Decodes `k=v&k=v`: `%XX` escapes and `+` as a space, as Aliyun's gateway
/// reads query strings. Malformed escapes, non-UTF-8 text and repeated keys
/// are refused rather than guessed at, since each would sign ambiguously.
fn parse_query(query: &str) -> Result<BTreeMap<String, String>, Failure> {
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_decode(text).ok_or_else(|| Failure::invalid(format!("Malformed query parameter \"{pair}\".")))
        };
        let key = decode(key)?;
        if params.insert(key, decode(value)?).is_some() {
            return Err(Failure::invalid(format!("Query parameter in \"{pair}\" is given more than once.")));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_strings() {
        let params = parse_query("b=%E8%93%9D%20x+y&a=%7b%22k%22%3A%221%22%7D&&c&d=~*").unwrap();
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("a", r#"{"k":"1"}"#), ("b", "蓝 x y"), ("c", ""), ("d", "~*")]);
        assert!(parse_query("").unwrap().is_empty());
        for bad in ["a=%", "a=%2", "a=%zz", "a=%FF", "a=1&a=2", "%=1"] {
            let failure = parse_query(bad).unwrap_err();
            assert_eq!((failure.status.as_u16(), failure.code.as_str()), (400, "InvalidParameter"), "{bad:?}");
        }
    }

    #[test]
    fn parses_authorization() {
        let auth =
            parse_authorization("ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host;x-acs-date, Signature=abc").unwrap();
        assert_eq!((auth.credential, auth.signature), ("id", "abc"));
        assert_eq!(auth.signed_headers, ["host", "x-acs-date"]);
        for bad in [
            "ACS3-HMAC-SM3 Credential=id,SignedHeaders=host,Signature=abc",
            "ACS3-HMAC-SHA256Credential=id,SignedHeaders=host,Signature=abc",
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host",
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=",
            "ACS3-HMAC-SHA256 Credential=id,Credential=id,SignedHeaders=host,Signature=abc",
            "ACS3-HMAC-SHA256 Credential=id,SignedHeaders=host,Signature=abc,Extra=1",
        ] {
            let failure = parse_authorization(bad).err().unwrap();
            assert_eq!(failure.code, "IncompleteSignature", "{bad:?}");
        }
    }
}
