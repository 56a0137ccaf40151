//! The headers a V3 signature rests on: each sent at most once, the fields
//! of `Authorization`, and the list of signed headers it names.

use axum::http::HeaderMap;

use super::Failure;
use super::signature::ALGORITHM;

/// Headers every request must sign, on top of any other `x-acs-*` it has.
const MUST_SIGN: [&str; 6] =
    ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"];

/// The value of a header sent at most once; several copies, or a value
/// that is not visible ASCII, cannot be signed unambiguously.
pub(super) fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Failure> {
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
pub(super) fn signed_headers<'h>(
    headers: &'h HeaderMap,
    names: &[&'h str],
) -> Result<Vec<(&'h str, &'h str)>, Failure> {
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
pub(super) struct Authorization<'a> {
    pub credential: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

/// Reads `Authorization` strictly: an unknown, empty or repeated field is
/// refused rather than guessed at.
pub(super) fn parse_authorization(value: &str) -> Result<Authorization<'_>, Failure> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
