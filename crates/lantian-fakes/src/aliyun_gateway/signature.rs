//! Aliyun's V3 request signature (`ACS3-HMAC-SHA256`): the canonical request,
//! the string to sign and the HMAC over it.
//!
//! The fakes recompute the signature from what arrived and compare it with
//! the client's, so this is the one place the canonical form is defined; the
//! tests sign their requests with it too, and pin it to Aliyun's published
//! example so a bug here cannot hide by agreeing with itself.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The only algorithm the fake accepts (Aliyun also has an SM3 variant).
pub(crate) const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Percent-encodes per RFC 3986 as the signature wants it: `A-Za-z0-9-_.~`
/// kept, every other UTF-8 byte as uppercase `%XX` (so a space is `%20`,
/// never `+`).
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(hex_digit(byte >> 4).to_ascii_uppercase());
            out.push(hex_digit(byte & 0xf).to_ascii_uppercase());
        }
    }
    out
}

/// The canonical query string: pairs sorted by (decoded) key, each key and
/// value percent-encoded, joined `k=v` with `&`.
pub(crate) fn canonical_query(params: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> =
        params.iter().map(|(key, value)| format!("{}={}", percent_encode(key), percent_encode(value))).collect();
    pairs.join("&")
}

/// What the canonical request is made of.
pub(crate) struct RequestParts<'a> {
    pub method: &'a str,
    /// The URI path; `/` for RPC-style APIs such as SendSms.
    pub path: &'a str,
    /// The decoded query parameters.
    pub params: &'a BTreeMap<String, String>,
    /// The signed headers as `(lowercase name, value)`, in any order.
    pub headers: &'a [(&'a str, &'a str)],
    /// The `x-acs-content-sha256` value, as sent.
    pub hashed_payload: &'a str,
}

/// The names of `headers` as the `SignedHeaders` field lists them: sorted,
/// joined with `;`.
pub(crate) fn signed_header_names(headers: &[(&str, &str)]) -> String {
    let mut names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    names.join(";")
}

/// `METHOD \n path \n query \n headers(each "name:value\n") \n names \n payload-hash`.
pub(crate) fn canonical_request(parts: &RequestParts<'_>) -> String {
    let mut headers = parts.headers.to_vec();
    headers.sort_unstable();
    let mut canonical_headers = String::new();
    for (name, value) in &headers {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value.trim());
        canonical_headers.push('\n');
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        parts.method,
        parts.path,
        canonical_query(parts.params),
        canonical_headers,
        signed_header_names(parts.headers),
        parts.hashed_payload
    )
}

/// `ACS3-HMAC-SHA256 \n hex(SHA-256(canonical request))`.
pub(crate) fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// The signature: hex(HMAC-SHA256(secret, string to sign)), lowercase.
pub(crate) fn sign(secret: &str, string_to_sign: &str) -> String {
    // HMAC takes keys of any length, so this never fails; were it to, an
    // empty signature matches no client's and the request is refused.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Lowercase hex SHA-256, as `x-acs-content-sha256` and the string to sign use.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0xf));
    }
    out
}

/// The lowercase hex digit of a nibble (`0..16`).
fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0xf)])
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn owned(params: &[(&str, &str)]) -> BTreeMap<String, String> {
        params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn signature(secret: &str, params: &[(&str, &str)], headers: &[(&str, &str)]) -> String {
        let params = owned(params);
        let parts = RequestParts { method: "POST", path: "/", params: &params, headers, hashed_payload: EMPTY_SHA256 };
        sign(secret, &string_to_sign(&canonical_request(&parts)))
    }

    #[test]
    fn hashes_and_encodes() {
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
        assert_eq!(percent_encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(percent_encode("a b+c*d/e=f&g%"), "a%20b%2Bc%2Ad%2Fe%3Df%26g%25");
        assert_eq!(percent_encode("蓝天云"), "%E8%93%9D%E5%A4%A9%E4%BA%91");
        assert_eq!(percent_encode(r#"{"code":"1"}"#), "%7B%22code%22%3A%221%22%7D");
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        let params = owned(&[("b", "2 3"), ("a", "~"), ("A", "x"), ("c", "")]);
        assert_eq!(canonical_query(&params), "A=x&a=~&b=2%203&c=");
        assert_eq!(canonical_query(&BTreeMap::new()), "");
    }

    /// Aliyun's documented V3 example (RunInstances on ECS).
    #[test]
    fn reproduces_aliyun_documented_example() {
        let headers = [
            ("x-acs-version", "2014-05-26"),
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-date", "2023-10-26T09:01:01Z"),
            ("x-acs-signature-nonce", "d410180a5abf7fe235dd9b74aca91fc0"),
            ("x-acs-content-sha256", EMPTY_SHA256),
        ];
        let params = [("RegionId", "cn-shanghai"), ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd")];
        assert_eq!(
            signed_header_names(&headers),
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
        let owned_params = owned(&params);
        let parts = RequestParts {
            method: "POST",
            path: "/",
            params: &owned_params,
            headers: &headers,
            hashed_payload: EMPTY_SHA256,
        };
        assert_eq!(
            canonical_request(&parts),
            format!(
                "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n\
                 host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n\
                 x-acs-content-sha256:{EMPTY_SHA256}\nx-acs-date:2023-10-26T09:01:01Z\n\
                 x-acs-signature-nonce:d410180a5abf7fe235dd9b74aca91fc0\nx-acs-version:2014-05-26\n\n\
                 host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n\
                 {EMPTY_SHA256}"
            )
        );
        assert_eq!(
            signature("YourAccessKeySecret", &params, &headers),
            "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"
        );
    }

    /// A SendSms request with a Chinese sign name and a JSON parameter.
    #[test]
    fn reproduces_send_sms_vector() {
        let headers = [
            ("host", "dysmsapi.aliyuncs.com"),
            ("x-acs-action", "SendSms"),
            ("x-acs-version", "2017-05-25"),
            ("x-acs-date", "2025-01-01T00:00:00Z"),
            ("x-acs-signature-nonce", "45e25e9b0a6f40708c852956eda1b466"),
            ("x-acs-content-sha256", EMPTY_SHA256),
        ];
        let params = [
            ("PhoneNumbers", "13800000000"),
            ("SignName", "蓝天云"),
            ("TemplateCode", "SMS_123456789"),
            ("TemplateParam", r#"{"code":"123456"}"#),
        ];
        assert_eq!(
            signature("testsecret", &params, &headers),
            "87675102700d8884e14f32049b8448214e031e6b79efe83f4fbe25ce0d5862cf"
        );
        // Header values are trimmed; anything else changes the signature.
        let mut padded = headers;
        padded[0].1 = "  dysmsapi.aliyuncs.com ";
        assert_eq!(signature("testsecret", &params, &padded), signature("testsecret", &params, &headers));
        assert_ne!(signature("testsecret2", &params, &headers), signature("testsecret", &params, &headers));
        let mut other = params;
        other[1].1 = "蓝天";
        assert_ne!(signature("testsecret", &other, &headers), signature("testsecret", &params, &headers));
    }
}
