//! Aliyun's API gateway as the Aliyun fakes meet it: the checks it makes
//! before a product sees a V3-signed (`ACS3-HMAC-SHA256`) RPC request —
//! action and version, the time stamp, the AccessKey, the body hash and the
//! signature — and the refusals it answers with.
//!
//! One gateway stands in front of every Aliyun product, so the checks are
//! the same for each; a fake only says which action and version it serves
//! ([`Api`]) and decodes the parameters from wherever its product takes
//! them. The nonce is not spent here: the caller spends it ([`Nonces`]) only
//! once the signature is good, so a forged request cannot use up the nonce
//! of a real one.

mod failure;
mod headers;
mod nonces;
pub(crate) mod signature;

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};

use crate::utc;
use headers::{parse_authorization, signed_headers, single_header};
use signature::RequestParts;

pub(crate) use failure::Failure;
pub(crate) use nonces::Nonces;

/// How far `x-acs-date` may be from the fake's clock, either way.
const MAX_SKEW_MS: i64 = 15 * 60_000;

/// The one action a fake serves.
pub(crate) struct Api {
    pub action: &'static str,
    pub version: &'static str,
    /// How another `x-acs-action` or `x-acs-version` value (given as sent)
    /// is refused: the fakes answer it in their own products' words, which
    /// their tests pin.
    pub wrong_action: fn(&str) -> Failure,
    pub wrong_version: fn(&str) -> Failure,
}

/// The one AccessKey pair a fake knows.
pub(crate) struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
}

/// A request as it arrived.
pub(crate) struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The decoded query parameters, the only ones the canonical request
    /// lists; a form body is covered by its hash.
    pub query: &'a BTreeMap<String, String>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Checks everything but the nonce; returns the nonce, for the caller to
/// spend.
pub(crate) fn verify<'a>(
    api: &Api,
    request: &Incoming<'a>,
    credentials: &Credentials,
    now_ms: i64,
) -> Result<&'a str, Failure> {
    let required =
        |name: &str| single_header(request.headers, name)?.ok_or_else(|| Failure::missing("MissingParameter", name));

    let action = required("x-acs-action")?;
    if action != api.action {
        return Err((api.wrong_action)(action));
    }
    let version = required("x-acs-version")?;
    if version != api.version {
        return Err((api.wrong_version)(version));
    }
    let date = required("x-acs-date")?;
    let nonce = required("x-acs-signature-nonce")?;
    let hashed_payload = required("x-acs-content-sha256")?;
    required("host")?;
    let authorization = parse_authorization(required("authorization")?)?;

    let signed = signed_headers(request.headers, &authorization.signed_headers)?;

    let Some(date_ms) = utc::parse_iso8601(date) else {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Format",
            format!(
                "Specified time stamp or date value is not well formatted: \"{date}\" is not yyyy-MM-ddTHH:mm:ssZ."
            ),
        ));
    };
    if (date_ms - now_ms).abs() > MAX_SKEW_MS {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            format!(
                "Specified time stamp or date value is expired. Request date {date}, server time {}.",
                utc::format_iso8601(now_ms)
            ),
        ));
    }

    if authorization.credential != credentials.access_key_id {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    }

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
    if signature::sign(&credentials.access_key_secret, &string_to_sign) != authorization.signature {
        // Showing what was signed is what makes a signing bug findable.
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
