//! Calls to the gateway: what is sent, how answers and failures are read.

use serde_json::json;

use super::*;
use crate::payments::coopay::sign;
use crate::payments::gateway::{GatewayError, QrPayment, TradeStatus};

async fn v1_at(replies: Vec<(u16, serde_json::Value)>) -> (Arc<dyn PaymentGateway>, Arc<Mutex<Vec<Seen>>>) {
    let (base, seen) = serve(replies.into_iter().map(|(s, b)| (s, b.to_string())).collect()).await;
    (gateway(&config(EpayVersion::V1, &base)), seen)
}

/// A V2 answer as the platform sends it: dated and signed.
fn signed_answer(mut answer: serde_json::Value, timestamp: i64) -> (u16, String) {
    answer["timestamp"] = json!(timestamp.to_string());
    answer["sign_type"] = json!("RSA");
    let params = crate::payments::coopay::client::params_of(answer.as_object().unwrap());
    answer["sign"] = json!(platform().sign(&params).unwrap());
    (200, answer.to_string())
}

#[tokio::test]
async fn v1_create_posts_the_signed_start_with_our_public_ip() {
    let (gw, seen) =
        v1_at(vec![(200, json!({"code": 1, "trade_no": "T1", "qrcode": "weixin://wxpay/bizpayurl?pr=X"}))]).await;
    let qr = gw.create_qr(&request(), NOW).await.unwrap();
    assert_eq!(qr, QrPayment { trade_no: "T1".into(), qr_content: "weixin://wxpay/bizpayurl?pr=X".into() });
    let sent = seen.lock().unwrap()[0].clone();
    assert!(sent.line.starts_with("POST /mapi.php "), "{}", sent.line);
    let form = decode(&sent.body);
    let mut fields: Vec<&str> = form.keys().map(String::as_str).collect();
    let mut disclosed = gw.disclosed_fields().to_vec();
    fields.sort_unstable();
    disclosed.sort_unstable();
    assert_eq!(fields, disclosed);
    assert_eq!((form["clientip"].as_str(), form["device"].as_str()), (PUBLIC_IP, "pc"));
    assert!(sign::md5_matches(&form, KEY, EpayKeyStyle::Append));
}

#[tokio::test]
async fn v1_create_takes_payurl_and_refuses_any_code_but_1() {
    let (gw, _) = v1_at(vec![
        (200, json!({"code": 1, "trade_no": "T2", "payurl": "https://pay.example.com/pay/T2"})),
        (200, json!({"code": "error", "msg": "签名错误"})),
        (200, json!({"code": "1", "trade_no": "T3", "qrcode": "x"})),
        (200, json!({"code": 1, "qrcode": "x"})),
    ])
    .await;
    assert_eq!(gw.create_qr(&request(), NOW).await.unwrap().qr_content, "https://pay.example.com/pay/T2");
    assert_eq!(gw.create_qr(&request(), NOW).await, Err(GatewayError::Refused("签名错误".into())));
    assert!(matches!(gw.create_qr(&request(), NOW).await, Err(GatewayError::Refused(_))));
    assert!(matches!(gw.create_qr(&request(), NOW).await, Err(GatewayError::BadAnswer(_))));
}

#[tokio::test]
async fn v1_query_reads_found_and_missing_orders_and_never_shows_the_key() {
    let found = json!({"code": 1, "msg": "succ", "trade_no": "T1", "out_trade_no": "LT20250101000001",
        "pid": "1001", "money": "12.50", "status": "1", "type": "alipay"});
    let (gw, seen) = v1_at(vec![
        (200, found),
        (200, json!({"code": -1, "msg": "订单号不存在"})),
        (200, json!({"code": -3, "msg": "商户密钥错误"})),
    ])
    .await;
    let status = gw.query("LT20250101000001", NOW).await.unwrap();
    let expected =
        TradeStatus { trade_no: "T1".into(), out_trade_no: "LT20250101000001".into(), amount_fen: 1250, paid: true };
    assert_eq!(status, Some(expected));
    assert_eq!(gw.query("LT20250101000002", NOW).await, Ok(None));
    let err = gw.query("LT20250101000003", NOW).await.unwrap_err();
    assert_eq!(err, GatewayError::Refused("商户密钥错误".into()));
    let line = seen.lock().unwrap()[0].line.clone();
    let (path, query) = line.trim_start_matches("GET ").split_once('?').unwrap();
    assert_eq!(path, "/api.php");
    let query = decode(query.split(' ').next().unwrap());
    assert_eq!((query["act"].as_str(), query["key"].as_str()), ("order", KEY));
}

#[tokio::test]
async fn v1_query_refuses_another_order_and_a_bad_amount() {
    let (gw, _) = v1_at(vec![
        (200, json!({"code": 1, "trade_no": "T9", "out_trade_no": "LT-OTHER", "money": "12.50", "status": 1})),
        (200, json!({"code": 1, "trade_no": "T1", "out_trade_no": "LT20250101000001", "money": "12.5x", "status": 1})),
    ])
    .await;
    assert!(matches!(gw.query("LT20250101000001", NOW).await, Err(GatewayError::BadAnswer(_))));
    assert!(matches!(gw.query("LT20250101000001", NOW).await, Err(GatewayError::BadAnswer(_))));
}

#[tokio::test]
async fn v1_refund_posts_key_and_amount() {
    let (gw, seen) = v1_at(vec![
        (200, json!({"code": 0, "msg": "退款成功！退款金额￥12.50"})),
        (200, json!({"code": -2, "msg": "商户未开启订单退款API接口"})),
    ])
    .await;
    gw.refund("T1", 1250, NOW).await.unwrap();
    assert!(matches!(gw.refund("T1", 1250, NOW).await, Err(GatewayError::Refused(_))));
    let sent = seen.lock().unwrap()[0].clone();
    assert!(sent.line.starts_with("POST /api.php?act=refund "), "{}", sent.line);
    let form = decode(&sent.body);
    assert_eq!((form["pid"].as_str(), form["key"].as_str()), ("1001", KEY));
    assert_eq!((form["trade_no"].as_str(), form["money"].as_str()), ("T1", "12.50"));
}

#[tokio::test]
async fn failures_map_to_unreachable_refused_and_bad_answer_without_the_address() {
    let (base, _) = serve(vec![(500, "{}".into()), (200, "<html>oops</html>".into())]).await;
    let gw = gateway(&config(EpayVersion::V1, &base));
    assert_eq!(gw.query("LT1", NOW).await, Err(GatewayError::Refused("HTTP 500 Internal Server Error".into())));
    assert!(matches!(gw.query("LT1", NOW).await, Err(GatewayError::BadAnswer(_))));
    // Nothing listens there any more: the listener was dropped after its two answers.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = gw.query("LT1", NOW).await.unwrap_err();
    assert!(matches!(&err, GatewayError::Unreachable(m) if !m.contains(KEY) && !m.contains("api.php")), "{err:?}");
}

#[tokio::test]
async fn v2_create_and_query_check_the_answer_signature_and_age() {
    let now_s = NOW.0 / 1000;
    let created =
        json!({"code": 0, "trade_no": "T1", "pay_type": "qrcode", "pay_info": "weixin://wxpay/bizpayurl?pr=X"});
    let found = json!({"code": 0, "trade_no": "T1", "out_trade_no": "LT20250101000001", "pid": 1001,
        "money": "12.50", "status": 1});
    let mut forged = signed_answer(created.clone(), now_s);
    forged.1 = forged.1.replace("pr=X", "pr=Y");
    let replies = vec![
        signed_answer(created.clone(), now_s),
        forged,
        signed_answer(created, now_s - 301),
        signed_answer(found, now_s),
        (200, json!({"code": -1, "msg": "订单号不存在"}).to_string()),
    ];
    let (base, seen) = serve(replies).await;
    let gw = gateway(&config(EpayVersion::V2, &base));
    assert_eq!(gw.create_qr(&request(), NOW).await.unwrap().qr_content, "weixin://wxpay/bizpayurl?pr=X");
    assert!(matches!(gw.create_qr(&request(), NOW).await, Err(GatewayError::BadAnswer(_))), "forged");
    assert!(matches!(gw.create_qr(&request(), NOW).await, Err(GatewayError::BadAnswer(_))), "stale");
    assert!(gw.query("LT20250101000001", NOW).await.unwrap().unwrap().paid);
    assert_eq!(gw.query("LT20250101000002", NOW).await, Ok(None));
    let sent = seen.lock().unwrap()[0].clone();
    assert!(sent.line.starts_with("POST /api/pay/create "), "{}", sent.line);
    let form = decode(&sent.body);
    assert_eq!((form["method"].as_str(), form["device"].as_str(), form["clientip"].as_str()), ("web", "pc", PUBLIC_IP));
    assert!(form.keys().all(|k| gw.disclosed_fields().contains(&k.as_str())), "{form:?}");
    assert!(platform().matches(&form));
}
