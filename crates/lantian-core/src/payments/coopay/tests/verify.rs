//! Notifications, redirects and configuration: no network.

use super::*;
use crate::payments::coopay::sign::tests::notify;
use crate::payments::coopay::{sign, v1, v2};
use crate::payments::gateway::{Notification, Rejection};

fn md5_signed(mut p: Params, style: EpayKeyStyle) -> Params {
    let sign = sign::md5(&p, KEY, style);
    p.insert("sign".into(), sign);
    p
}

fn v1_signed(p: Params) -> Params {
    md5_signed(p, EpayKeyStyle::Append)
}

fn with(mut p: Params, k: &str, v: &str) -> Params {
    p.insert(k.into(), v.into());
    p
}

#[test]
fn v1_accepts_the_research_notify_in_either_hex_case() {
    let p = with(notify(), "sign", "6889665407f4e8c9095513f500bb6f89");
    let expected = Notification {
        trade_no: "2025010112000012345".into(),
        out_trade_no: "LT20250101000001".into(),
        amount_fen: 1250,
        success: true,
        channel: Some(Channel::Alipay),
    };
    assert_eq!(v1().verify(&p, NOW), Ok(expected));
    let upper = with(p, "sign", "6889665407F4E8C9095513F500BB6F89");
    assert!(v1().verify(&upper, NOW).is_ok());
}

#[test]
fn v1_refuses_forged_and_altered_notifies() {
    let gw = v1();
    assert_eq!(gw.verify(&notify(), NOW), Err(Rejection::BadSignature), "no sign");
    let forged = with(notify(), "sign", "00000000000000000000000000000000");
    assert_eq!(gw.verify(&forged, NOW), Err(Rejection::BadSignature));
    let altered = with(v1_signed(notify()), "money", "1250.00");
    assert_eq!(gw.verify(&altered, NOW), Err(Rejection::BadSignature), "signature over other params");
    let added = with(v1_signed(notify()), "param", "x");
    assert_eq!(gw.verify(&added, NOW), Err(Rejection::BadSignature), "an unsigned extra field");
    let other_key = with(notify(), "sign", &sign::md5(&notify(), "AnotherKey", EpayKeyStyle::Append));
    assert_eq!(gw.verify(&other_key, NOW), Err(Rejection::BadSignature));
}

#[test]
fn v1_checks_merchant_and_fields_once_the_signature_holds() {
    let gw = v1();
    let other_pid = v1_signed(with(notify(), "pid", "1002"));
    assert_eq!(gw.verify(&other_pid, NOW), Err(Rejection::WrongMerchant));
    let mut no_trade_no = notify();
    no_trade_no.remove("trade_no");
    assert_eq!(gw.verify(&v1_signed(no_trade_no), NOW), Err(Rejection::BadField("trade_no")));
    let empty_out = v1_signed(with(notify(), "out_trade_no", ""));
    assert_eq!(gw.verify(&empty_out, NOW), Err(Rejection::BadField("out_trade_no")));
    for bad in ["12.501", "-1", "", "12,50", " 12.50", "1e3"] {
        let p = v1_signed(with(notify(), "money", bad));
        assert_eq!(gw.verify(&p, NOW), Err(Rejection::BadField("money")), "{bad:?}");
    }
}

#[test]
fn v1_accepts_new_fields_and_reads_status_and_channel() {
    let p = with(with(notify(), "api_trade_no", "4200002345202407238253501450"), "trade_status", "WAIT_BUYER_PAY");
    let n = v1().verify(&v1_signed(with(p, "type", "wxpay")), NOW).unwrap();
    assert!(!n.success);
    assert_eq!(n.channel, Some(Channel::Wxpay));
    let qq = v1().verify(&v1_signed(with(notify(), "type", "qqpay")), NOW).unwrap();
    assert_eq!((qq.success, qq.channel), (true, None));
}

#[test]
fn amp_key_style_is_the_configured_one_only() {
    let mut cfg = config(EpayVersion::V1, "https://pay.example.com/");
    cfg.key_style = EpayKeyStyle::AmpKey;
    let gw = gateway(&cfg);
    assert!(gw.verify(&md5_signed(notify(), EpayKeyStyle::AmpKey), NOW).is_ok());
    assert_eq!(gw.verify(&v1_signed(notify()), NOW), Err(Rejection::BadSignature));
}

#[test]
fn v1_redirect_carries_exactly_the_signed_start_fields() {
    let gw = v1();
    let url = gw.redirect_url(&request(), NOW);
    let (address, query) = url.split_once('?').unwrap();
    assert_eq!(address, "https://pay.example.com/submit.php");
    let p = decode(query);
    let mut expected: Vec<&str> =
        v1::DISCLOSED.iter().copied().filter(|f| !["clientip", "device"].contains(f)).collect();
    expected.sort_unstable();
    assert_eq!(p.keys().map(String::as_str).collect::<Vec<_>>(), expected);
    assert_eq!(p["notify_url"], "http://127.0.0.1:8080/pay/coopay/notify");
    assert_eq!(p["return_url"], "http://127.0.0.1:8080/pay/coopay/return");
    assert_eq!((p["money"].as_str(), p["name"].as_str(), p["type"].as_str()), ("12.50", "云服务器续费", "wxpay"));
    assert_eq!(p["sign_type"], "MD5");
    assert!(sign::md5_matches(&p, KEY, EpayKeyStyle::Append));
    assert_eq!((gw.name(), gw.disclosed_fields()), ("CooPay", v1::DISCLOSED));
}

fn v2_notify(timestamp: &str) -> Params {
    let p = with(with(notify(), "sign_type", "RSA"), "timestamp", timestamp);
    let p = with(p, "api_trade_no", "4200002345202407238253501450");
    let sign = platform().sign(&p).unwrap();
    with(p, "sign", &sign)
}

#[test]
fn v2_accepts_a_platform_signed_notify_within_the_window() {
    let gw = v2();
    let n = gw.verify(&v2_notify("1735689600"), NOW).unwrap();
    assert_eq!((n.amount_fen, n.success, n.trade_no.as_str()), (1250, true, "2025010112000012345"));
    assert!(gw.verify(&v2_notify("1735689300"), NOW).is_ok(), "300 s old");
    assert!(gw.verify(&v2_notify("1735689900"), NOW).is_ok(), "300 s ahead");
}

#[test]
fn v2_refuses_stale_undated_and_wrongly_signed_notifies() {
    let gw = v2();
    assert_eq!(gw.verify(&v2_notify("1735689299"), NOW), Err(Rejection::Stale));
    assert_eq!(gw.verify(&v2_notify("1735689901"), NOW), Err(Rejection::Stale));
    assert_eq!(gw.verify(&v2_notify("soon"), NOW), Err(Rejection::BadField("timestamp")));
    let mut undated = notify();
    let sign = platform().sign(&undated).unwrap();
    undated.insert("sign".into(), sign);
    assert_eq!(gw.verify(&undated, NOW), Err(Rejection::BadField("timestamp")));
    // Signed by our own key, or MD5 as V1 would: the configured check decides, not `sign_type`.
    let mut ours = with(notify(), "timestamp", "1735689600");
    let sign = RsaKeys::new(MERCHANT_PRIVATE, PLATFORM_PUBLIC).unwrap().sign(&ours).unwrap();
    ours.insert("sign".into(), sign);
    assert_eq!(gw.verify(&ours, NOW), Err(Rejection::BadSignature));
    let md5 = v1_signed(with(notify(), "timestamp", "1735689600"));
    assert_eq!(gw.verify(&md5, NOW), Err(Rejection::BadSignature));
    let altered = with(v2_notify("1735689600"), "money", "0.01");
    assert_eq!(gw.verify(&altered, NOW), Err(Rejection::BadSignature));
}

#[test]
fn v2_redirect_is_dated_and_signed_with_our_key() {
    let gw = v2();
    let url = gw.redirect_url(&request(), NOW);
    let (address, query) = url.split_once('?').unwrap();
    assert_eq!(address, "https://pay.example.com/api/pay/submit");
    let p = decode(query);
    assert_eq!((p["timestamp"].as_str(), p["sign_type"].as_str(), p["pid"].as_str()), ("1735689600", "RSA", "1001"));
    assert!(platform().matches(&p));
    assert!(p.keys().all(|k| v2::DISCLOSED.contains(&k.as_str())), "{p:?}");
    assert_eq!(gw.disclosed_fields(), v2::DISCLOSED);
}

#[test]
fn from_config_builds_nothing_for_none_and_refuses_bad_settings() {
    let mut none = config(EpayVersion::V1, "https://pay.example.com/");
    none.provider = PaymentsProvider::None;
    assert!(from_config(&none, SITE).unwrap().is_none());
    let mut bad_key = config(EpayVersion::V2, "https://pay.example.com/");
    bad_key.merchant_private_key = Secret::new("c2VjcmV0LWJ1dC1ub3QtYS1rZXk=");
    let err = from_config(&bad_key, SITE).err().unwrap().to_string();
    assert!(err.contains("merchant_private_key") && !err.contains("c2VjcmV0"), "{err}");
    let no_slash = config(EpayVersion::V1, "https://pay.example.com/epay");
    assert!(from_config(&no_slash, SITE).is_err());
}
