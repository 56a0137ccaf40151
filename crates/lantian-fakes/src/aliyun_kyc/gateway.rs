//! The checks Aliyun's API gateway makes before Cloudauth sees a request:
//! action and version, the time stamp, the AccessKey, the body hash and the
//! V3 signature. The nonce is left to the caller, which checks it only once
//! the signature is good, so a forged request cannot use up a real one's.

use axum::http::{HeaderMap, StatusCode};

use super::params::Params;
use super::reply::Failure;
use crate::aliyun_sms::signature::{self, ALGORITHM, RequestParts};
use crate::utc;

pub(super) const ACTION: &str = "Id2MetaVerify";
pub(super) const VERSION: &str = "2019-03-07";

/// How far `x-acs-date` may be from the fake's clock, either way.
const MAX_SKEW_MS: i64 = 15 * 60_000;

/// The one AccessKey pair the fake knows.
pub(super) struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
}

/// A request as it arrived; `query` is its decoded query string.
pub(super) struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a Params,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Checks everything but the nonce; returns the nonce.
pub(super) fn verify<'a>(request: &Incoming<'a>, credentials: &Credentials, now_ms: i64) -> Result<&'a str, Failure> {
    let required = |name: &str| {
        header(request.headers, name)?.ok_or_else(|| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                "MissingParameter",
                format!(
                    "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
                ),
            )
        })
    };
    if required("x-acs-action")? != ACTION {
        return Err(Failure::new(StatusCode::NOT_FOUND, "InvalidAction.NotFound", "Specified api is not found."));
    }
    if required("x-acs-version")? != VERSION {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        ));
    }
    let date = required("x-acs-date")?;
    let nonce = required("x-acs-signature-nonce")?;
    let hashed_payload = required("x-acs-content-sha256")?;
    required("host")?;
    let (credential, names, claimed) = parse_authorization(required("authorization")?)?;

    if utc::parse_iso8601(date).is_none_or(|date_ms| (date_ms - now_ms).abs() > MAX_SKEW_MS) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            format!("Specified time stamp or date value is expired or malformed: {date}."),
        ));
    }
    if credential != credentials.access_key_id {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    }
    let signed = signed_headers(request.headers, &names)?;
    if hashed_payload != signature::sha256_hex(request.body) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            "Specified signature does not match our calculation: \
             x-acs-content-sha256 is not the lowercase hex SHA-256 of the request body.",
        ));
    }
    let canonical_request = signature::canonical_request(&RequestParts {
        method: request.method,
        path: request.path,
        params: request.query,
        headers: &signed,
        hashed_payload,
    });
    let string_to_sign = signature::string_to_sign(&canonical_request);
    if signature::sign(&credentials.access_key_secret, &string_to_sign) != claimed {
        // The canonical request holds only the query and the body's hash,
        // and showing it is what makes a signing bug findable.
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature does not match our calculation. \
                 The canonical request is: {canonical_request:?}; the string to sign is: {string_to_sign:?}"
            ),
        ));
    }
    Ok(nonce)
}

/// The value of a header sent at most once, as visible ASCII.
fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Failure> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Failure::new(StatusCode::BAD_REQUEST, "InvalidParameter", format!("Header {name} is repeated.")));
    }
    value.to_str().map(Some).map_err(|_| {
        Failure::new(StatusCode::BAD_REQUEST, "InvalidParameter", format!("Header {name} is not visible ASCII."))
    })
}

/// `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>`
/// as (credential, signed header names, signature).
fn parse_authorization(value: &str) -> Result<(&str, Vec<&str>, &str), Failure> {
    let fields = value
        .strip_prefix(ALGORITHM)
        .and_then(|rest| rest.strip_prefix(' '))
        .ok_or_else(|| Failure::incomplete_signature(&format!("Authorization must start with \"{ALGORITHM} \".")))?;
    let field = |key: &str| {
        fields
            .split(',')
            .filter_map(|f| f.trim().strip_prefix(key)?.strip_prefix('='))
            .find(|v| !v.is_empty())
            .ok_or_else(|| Failure::incomplete_signature(&format!("Authorization needs {key}.")))
    };
    Ok((field("Credential")?, field("SignedHeaders")?.split(';').collect(), field("Signature")?))
}

/// The `(name, value)` pairs of the signed headers, after checking the list
/// is lowercase, sorted, and covers `host` and every `x-acs-*` header.
fn signed_headers<'h>(headers: &'h HeaderMap, names: &[&'h str]) -> Result<Vec<(&'h str, &'h str)>, Failure> {
    if !names.windows(2).all(|pair| pair[0] < pair[1])
        || names.iter().any(|n| n.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(Failure::incomplete_signature("SignedHeaders must be lowercase, sorted and unique."));
    }
    let present = headers.keys().map(|name| name.as_str()).filter(|name| name.starts_with("x-acs-"));
    if let Some(unsigned) = std::iter::once("host").chain(present).find(|name| !names.contains(name)) {
        return Err(Failure::incomplete_signature(&format!("Header {unsigned} must be signed.")));
    }
    names
        .iter()
        .map(|&name| match header(headers, name)? {
            Some(value) => Ok((name, value)),
            None => Err(Failure::incomplete_signature(&format!("Signed header {name} is not in the request."))),
        })
        .collect()
}
