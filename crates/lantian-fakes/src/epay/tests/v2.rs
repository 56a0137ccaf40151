use super::*;
use crate::epay::{EpayVersion, OrderStatus};

fn create_form(out_trade_no: &str) -> Fields {
    with(order_fields(out_trade_no, None), &[("method", "scan"), ("clientip", "203.0.113.7"), ("param", "uid=7")])
}

#[tokio::test]
async fn create_answers_a_signed_payment_url() {
    let (fake, _) = start().await;
    let form = rsa_signed(create_form("LT20"), NOW_MS);
    let body = post_json(&fake, "api/pay/create", &form).await;
    let signed = verified_v2(&body);
    assert_eq!(signed["msg"], "succ");
    assert_eq!(signed["timestamp"], (NOW_MS / 1000).to_string());
    assert_eq!(signed["pay_type"], "qrcode");
    let order = fake.order("LT20").unwrap();
    assert_eq!((order.version, order.param.as_str()), (EpayVersion::V2, "uid=7"));
    assert_eq!(signed["trade_no"], order.trade_no);
    assert_eq!(signed["pay_info"], format!("{}cashier/{}", fake.base_url(), order.trade_no));
    assert_eq!(fake.requests()[0].fields, form);

    // Submitted again (a client retry), the same trade.
    let again = post_json(&fake, "api/pay/create", &rsa_signed(create_form("LT20"), NOW_MS + 5000)).await;
    assert_eq!(again["trade_no"], order.trade_no.as_str());
}

#[tokio::test]
async fn submit_leads_to_the_cashier() {
    let (fake, _) = start().await;
    let form = rsa_signed(order_fields("LT21", None), NOW_MS);
    let response = client().get(format!("{}api/pay/submit", fake.base_url())).query(&form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let trade_no = fake.order("LT21").unwrap().trade_no;
    assert_eq!(response.headers()["location"], format!("{}cashier/{trade_no}", fake.base_url()));
}

#[tokio::test]
async fn refuses_stale_unsigned_or_foreign_requests() {
    let (fake, _) = start().await;
    let form = create_form("LT22");
    let at = |ms: i64| rsa_signed(form.clone(), ms);
    let cases = [
        (at(NOW_MS - 301_000), "请求已过期"),
        (at(NOW_MS + 301_000), "请求已过期"),
        (with(at(NOW_MS), &[("timestamp", "173568960")]), "timestamp"),
        (with(at(NOW_MS), &[("timestamp", "1735689600000")]), "timestamp"),
        (with(at(NOW_MS), &[("money", "12.51")]), "RSA signature mismatch"),
        (with(at(NOW_MS), &[("sign", "bm90IGEgc2lnbmF0dXJl")]), "签名校验失败"),
        (with(at(NOW_MS), &[("sign_type", "MD5")]), "sign_type"),
        (rsa_signed(with(form.clone(), &[("method", "")]), NOW_MS), "method"),
        (rsa_signed(with(form.clone(), &[("pid", "1002")]), NOW_MS), "商户不存在"),
    ];
    for (form, expected) in cases {
        let msg = refused(&post_json(&fake, "api/pay/create", &form).await);
        assert!(msg.contains(expected), "{expected}: {msg}");
    }
    // Within the window either way is fine.
    assert_eq!(post_json(&fake, "api/pay/create", &at(NOW_MS - 300_000)).await["code"], 0);
    assert_eq!(post_json(&fake, "api/pay/create", &at(NOW_MS + 300_000)).await["code"], 0);

    // A fake told no merchant key refuses every V2 request.
    let bare = EpayFake::start(EpayFakeSettings {
        now: Arc::new(|| NOW_MS),
        platform_key: Some(keys().platform.clone()),
        ..EpayFakeSettings::default()
    })
    .await
    .unwrap();
    let msg = refused(&post_json(&bare, "api/pay/create", &at(NOW_MS)).await);
    assert!(msg.contains("公钥"), "{msg}");
    assert!(bare.set_merchant_public_key_pem("not a key").is_err());
}

#[tokio::test]
async fn query_and_refund_are_signed_and_track_the_status() {
    let (fake, clock) = start().await;
    post_json(&fake, "api/pay/create", &rsa_signed(create_form("LT23"), NOW_MS)).await;
    let query = |now: i64| rsa_signed(fields(&[("pid", "1001"), ("out_trade_no", "LT23")]), now);
    let body = post_json(&fake, "api/pay/query", &query(NOW_MS)).await;
    let signed = verified_v2(&body);
    assert_eq!((signed["status"].as_str(), signed["money"].as_str()), ("0", "12.50"));
    assert!(body["buyer"].is_null() && body["endtime"].is_null(), "{body}");
    assert_eq!(body["clientip"], "203.0.113.7");

    clock.store(NOW_MS + 30_000, Ordering::SeqCst);
    let paid = fake.pay("LT23").unwrap();
    let body = post_json(&fake, "api/pay/query", &query(NOW_MS + 30_000)).await;
    let signed = verified_v2(&body);
    assert_eq!((signed["status"].as_str(), signed["endtime"].as_str()), ("1", "2025-01-01 08:00:30"));
    assert_eq!(signed["api_trade_no"], paid.api_trade_no.unwrap());
    assert_eq!(signed["buyer"], paid.buyer.unwrap());

    let refund = |money: &str| {
        rsa_signed(
            fields(&[("pid", "1001"), ("trade_no", &paid.trade_no), ("money", money), ("out_refund_no", "RF1")]),
            NOW_MS,
        )
    };
    assert!(refused(&post_json(&fake, "api/pay/refund", &refund("13.00")).await).contains("12.50"));
    let signed = verified_v2(&post_json(&fake, "api/pay/refund", &refund("12.50")).await);
    assert_eq!((signed["msg"].as_str(), signed["money"].as_str()), ("退款成功", "12.50"));
    assert_eq!(signed["out_refund_no"], "RF1");
    assert_eq!(fake.order("LT23").unwrap().status, OrderStatus::Refunded);
    let signed = verified_v2(&post_json(&fake, "api/pay/query", &query(NOW_MS)).await);
    assert_eq!((signed["status"].as_str(), signed["refundmoney"].as_str()), ("2", "12.50"));

    let unknown = rsa_signed(fields(&[("pid", "1001"), ("out_trade_no", "LT404")]), NOW_MS);
    assert!(refused(&post_json(&fake, "api/pay/query", &unknown).await).contains("不存在"));
}

#[tokio::test]
async fn a_fake_given_no_platform_key_generates_its_own() {
    let fake = EpayFake::start(EpayFakeSettings::default()).await.unwrap();
    let pem = fake.platform_public_key_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    assert_ne!(pem, keys().platform.public_key_pem());
    assert!(fake.base_url().starts_with("http://127.0.0.1:") && fake.base_url().ends_with('/'));
    fake.shutdown().await;
}
