//! EPay signatures. Both versions sign the same string: every parameter except `sign`,
//! `sign_type` and empty values, sorted by key in byte order, joined as `k=v&k=v` with the raw
//! (URL-decoded) values. V1 appends the merchant key and takes the MD5 as lower-case hex. V2
//! signs the string with SHA256withRSA (PKCS#1 v1.5, base64): our private key signs what we
//! send, and the platform's public key checks what it sends.
//!
//! Which check runs is decided by our configuration only, never by a received `sign_type`:
//! a signature check that the request can choose is no check (CVE-2026-33661).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{PrivateKey, PublicKey};
use sha2::Sha256;

use crate::config::EpayKeyStyle;
use crate::crypto::token::{hex, same};

/// The string both versions sign. A `BTreeMap<String, _>` iterates in byte order of the keys,
/// which is the order the protocol asks for.
pub fn content(params: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in params {
        if k == "sign" || k == "sign_type" || v.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The V1 signature: MD5 of the string with the merchant key joined as configured.
pub fn md5(params: &BTreeMap<String, String>, key: &str, style: EpayKeyStyle) -> String {
    let mut text = content(params);
    match style {
        EpayKeyStyle::Append => text.push_str(key),
        EpayKeyStyle::AmpKey => {
            text.push_str("&key=");
            text.push_str(key);
        }
    }
    hex(&Md5::digest(text.as_bytes()))
}

/// Whether `params["sign"]` is the V1 signature of the other parameters. Gateways differ in
/// the case of their hex, so it is compared lower-cased, in constant time.
pub fn md5_matches(params: &BTreeMap<String, String>, key: &str, style: EpayKeyStyle) -> bool {
    let Some(given) = params.get("sign") else {
        return false;
    };
    same(&md5(params, key, style), &given.to_ascii_lowercase())
}

/// The V2 keys: ours signs requests, the platform's verifies answers and notifications.
pub struct RsaKeys {
    ours: PrivateKey,
    platform: PublicKey,
}

impl RsaKeys {
    /// Reads both keys as PEM (PKCS#8 or PKCS#1) or as the bare base64 DER that EPay merchant
    /// panels display. Errors name the key, never its content.
    pub fn new(ours: &str, platform: &str) -> Result<RsaKeys, String> {
        let ours = private_key(ours).map_err(|e| format!("merchant_private_key: {e}"))?;
        let platform = public_key(platform).map_err(|e| format!("platform_public_key: {e}"))?;
        let keys = RsaKeys { ours, platform };
        // Signing is then known to work, so a payment start cannot fail on it later.
        keys.sign(&BTreeMap::new()).map_err(|e| format!("merchant_private_key cannot sign: {e}"))?;
        Ok(keys)
    }

    pub fn sign(&self, params: &BTreeMap<String, String>) -> Result<String, rsa::Error> {
        let sig = self.ours.pkcs1v15_sign::<Sha256>(content(params).as_bytes())?;
        Ok(B64.encode(sig))
    }

    /// Whether `params["sign"]` is the platform's signature of the other parameters.
    pub fn matches(&self, params: &BTreeMap<String, String>) -> bool {
        let Some(sig) = params.get("sign").and_then(|s| B64.decode(s).ok()) else {
            return false;
        };
        self.platform.pkcs1v15_verify::<Sha256>(content(params).as_bytes(), &sig).is_ok()
    }
}

fn private_key(text: &str) -> Result<PrivateKey, String> {
    let text = text.trim();
    let key = if text.contains("BEGIN RSA PRIVATE KEY") {
        PrivateKey::from_pkcs1_pem(text).map_err(|e| e.to_string())
    } else if text.starts_with("-----BEGIN") {
        PrivateKey::from_pkcs8_pem(text).map_err(|e| e.to_string())
    } else {
        PrivateKey::from_pkcs8_der(&bare_der(text)?).map_err(|e| e.to_string())
    };
    key.map_err(|e| format!("not an RSA private key ({e})"))
}

fn public_key(text: &str) -> Result<PublicKey, String> {
    let text = text.trim();
    let key = if text.contains("BEGIN RSA PUBLIC KEY") {
        PublicKey::from_pkcs1_pem(text).map_err(|e| e.to_string())
    } else if text.starts_with("-----BEGIN") {
        PublicKey::from_public_key_pem(text).map_err(|e| e.to_string())
    } else {
        PublicKey::from_public_key_der(&bare_der(text)?).map_err(|e| e.to_string())
    };
    key.map_err(|e| format!("not an RSA public key ({e})"))
}

fn bare_der(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(compact).map_err(|_| "neither PEM nor base64".to_string())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub const KEY: &str = "LantianTestKey123";
    pub const MERCHANT_PRIVATE: &str = include_str!("testdata/merchant_private.pem");
    pub const MERCHANT_PUBLIC: &str = include_str!("testdata/merchant_public.pem");
    pub const PLATFORM_PRIVATE: &str = include_str!("testdata/platform_private.pem");
    pub const PLATFORM_PUBLIC: &str = include_str!("testdata/platform_public.pem");

    pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn create(kind: &str, name: &str) -> BTreeMap<String, String> {
        map(&[
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

    pub fn notify() -> BTreeMap<String, String> {
        map(&[
            ("pid", "1001"),
            ("trade_no", "2025010112000012345"),
            ("out_trade_no", "LT20250101000001"),
            ("type", "alipay"),
            ("name", "VPS-1C1G"),
            ("money", "12.50"),
            ("trade_status", "TRADE_SUCCESS"),
            ("sign_type", "MD5"),
        ])
    }

    #[test]
    fn the_research_vectors_reproduce() {
        let alipay = create("alipay", "VPS-1C1G");
        assert_eq!(
            content(&alipay),
            "money=12.50&name=VPS-1C1G&notify_url=https://portal.example.com/pay/notify\
             &out_trade_no=LT20250101000001&pid=1001&return_url=https://portal.example.com/pay/return&type=alipay"
        );
        assert_eq!(md5(&alipay, KEY, EpayKeyStyle::Append), "3a5573e0a6ee74306f6d3a52565dbb1a");
        let wxpay = create("wxpay", "云服务器续费");
        assert_eq!(md5(&wxpay, KEY, EpayKeyStyle::Append), "d591e748c89ee1ce21ad9c3e40fe5431");
        assert_eq!(md5(&notify(), KEY, EpayKeyStyle::Append), "6889665407f4e8c9095513f500bb6f89");
    }

    #[test]
    fn amp_key_style_joins_the_key_as_a_parameter() {
        // python3: md5(content + "&key=LantianTestKey123")
        assert_eq!(md5(&notify(), KEY, EpayKeyStyle::AmpKey), "c1e316e82a2ccf922f92e9981cacb11b");
    }

    #[test]
    fn md5_check_ignores_hex_case_and_nothing_else() {
        let mut p = notify();
        p.insert("sign".into(), "6889665407F4E8C9095513F500BB6F89".into());
        assert!(md5_matches(&p, KEY, EpayKeyStyle::Append));
        assert!(!md5_matches(&p, KEY, EpayKeyStyle::AmpKey));
        assert!(!md5_matches(&p, "OtherKey", EpayKeyStyle::Append));
        p.insert("money".into(), "12.51".into());
        assert!(!md5_matches(&p, KEY, EpayKeyStyle::Append));
        p.remove("sign");
        assert!(!md5_matches(&p, KEY, EpayKeyStyle::Append));
    }

    #[test]
    fn rsa_signatures_round_trip_between_the_two_sides() {
        let ours = RsaKeys::new(MERCHANT_PRIVATE, PLATFORM_PUBLIC).unwrap();
        let platform = RsaKeys::new(PLATFORM_PRIVATE, MERCHANT_PUBLIC).unwrap();
        let mut p = notify();
        p.insert("timestamp".into(), "1735689600".into());
        let sig = platform.sign(&p).unwrap();
        p.insert("sign".into(), sig.clone());
        assert!(ours.matches(&p));
        // Our own signature is not the platform's.
        p.insert("sign".into(), ours.sign(&p).unwrap());
        assert!(!ours.matches(&p));
        p.insert("sign".into(), sig);
        p.insert("money".into(), "1250.00".into());
        assert!(!ours.matches(&p));
        p.insert("sign".into(), "not base64!".into());
        assert!(!ours.matches(&p));
    }

    #[test]
    fn keys_are_read_as_pem_or_bare_base64_and_never_echoed() {
        let bare = |pem: &str| pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>();
        assert!(RsaKeys::new(&bare(MERCHANT_PRIVATE), &bare(PLATFORM_PUBLIC)).is_ok());
        let err = RsaKeys::new("MIIBogus", PLATFORM_PUBLIC).err().unwrap();
        assert!(err.starts_with("merchant_private_key") && !err.contains("MIIBogus"), "{err}");
        assert!(RsaKeys::new(MERCHANT_PRIVATE, MERCHANT_PRIVATE).is_err());
    }
}
