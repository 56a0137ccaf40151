//! The string both EPay variants sign, and V1's MD5 signature over it.
//!
//! The fake checks clients' signatures with these functions and signs its
//! notifications with them, so they are pinned to the research note's
//! independently computed vectors: a bug here cannot hide by agreeing with
//! itself.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// How the V1 merchant key is joined to the signed string before hashing;
/// both exist among EPay-compatible gateways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyStyle {
    /// `…&type=alipayKEY`: appended directly, as 彩虹易支付's own SDK does.
    #[default]
    Appended,
    /// `…&type=alipay&key=KEY`.
    AmpersandKey,
}

/// Every parameter but `sign` and `sign_type` whose value is not empty
/// (`"0"` is not empty), sorted by key in byte order (the map's order),
/// joined as `k=v` with `&`, values raw (decoded, not re-encoded).
pub(super) fn content(params: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = params
        .iter()
        .filter(|(key, value)| key.as_str() != "sign" && key.as_str() != "sign_type" && !value.is_empty())
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    pairs.join("&")
}

/// The V1 signature: lowercase hex MD5 of the content with the key joined.
pub(super) fn md5_sign(params: &BTreeMap<String, String>, key: &str, style: KeyStyle) -> String {
    let content = content(params);
    let keyed = match style {
        KeyStyle::Appended => format!("{content}{key}"),
        KeyStyle::AmpersandKey => format!("{content}&key={key}"),
    };
    hex(&Md5::digest(keyed.as_bytes()))
}

/// Whether `params["sign"]` is their V1 signature; case-insensitive, and
/// constant-time so the fake is no timing oracle for a forged signature.
pub(super) fn md5_matches(params: &BTreeMap<String, String>, key: &str, style: KeyStyle) -> bool {
    let Some(received) = params.get("sign") else {
        return false;
    };
    let expected = md5_sign(params, key, style);
    bool::from(received.to_ascii_lowercase().as_bytes().ct_eq(expected.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "LantianTestKey123";

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn create(kind: &str, name: &str) -> BTreeMap<String, String> {
        params(&[
            ("pid", "1001"),
            ("type", kind),
            ("out_trade_no", "LT20250101000001"),
            ("notify_url", "https://portal.example.com/pay/notify"),
            ("return_url", "https://portal.example.com/pay/return"),
            ("name", name),
            ("money", "12.50"),
            ("param", ""),
            ("sign_type", "MD5"),
        ])
    }

    /// Research note §1.2, first vector: the create request.
    #[test]
    fn reproduces_create_vector() {
        let params = create("alipay", "VPS-1C1G");
        assert_eq!(
            content(&params),
            "money=12.50&name=VPS-1C1G&notify_url=https://portal.example.com/pay/notify\
             &out_trade_no=LT20250101000001&pid=1001&return_url=https://portal.example.com/pay/return&type=alipay"
        );
        assert_eq!(md5_sign(&params, KEY, KeyStyle::Appended), "3a5573e0a6ee74306f6d3a52565dbb1a");
    }

    /// Second vector: UTF-8 name, other channel.
    #[test]
    fn reproduces_utf8_vector() {
        let params = create("wxpay", "云服务器续费");
        assert_eq!(md5_sign(&params, KEY, KeyStyle::Appended), "d591e748c89ee1ce21ad9c3e40fe5431");
    }

    /// Third vector: the notification, whose `sign`/`sign_type` are excluded.
    #[test]
    fn reproduces_notify_vector() {
        let mut params = params(&[
            ("pid", "1001"),
            ("trade_no", "2025010112000012345"),
            ("out_trade_no", "LT20250101000001"),
            ("type", "alipay"),
            ("name", "VPS-1C1G"),
            ("money", "12.50"),
            ("trade_status", "TRADE_SUCCESS"),
            ("sign_type", "MD5"),
        ]);
        let sign = md5_sign(&params, KEY, KeyStyle::Appended);
        assert_eq!(sign, "6889665407f4e8c9095513f500bb6f89");
        params.insert("sign".into(), sign.to_ascii_uppercase());
        assert!(md5_matches(&params, KEY, KeyStyle::Appended));
        assert!(!md5_matches(&params, "other", KeyStyle::Appended));
        assert!(!md5_matches(&params, KEY, KeyStyle::AmpersandKey));
        params.insert("money".into(), "12.51".into());
        assert!(!md5_matches(&params, KEY, KeyStyle::Appended));
        params.remove("sign");
        assert!(!md5_matches(&params, KEY, KeyStyle::Appended));
    }

    #[test]
    fn ampersand_key_style_and_empty_values() {
        let params = params(&[("b", "0"), ("a", ""), ("c", "x y")]);
        assert_eq!(content(&params), "b=0&c=x y");
        assert_eq!(md5_sign(&params, "K", KeyStyle::AmpersandKey), hex(&Md5::digest(b"b=0&c=x y&key=K")));
        assert_eq!(md5_sign(&params, "K", KeyStyle::Appended), hex(&Md5::digest(b"b=0&c=x yK")));
        assert_eq!(hex(&Md5::digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
