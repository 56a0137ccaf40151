use super::*;
use crate::epay::{EpayVersion, OrderStatus};

#[tokio::test]
async fn submit_by_get_or_post_leads_to_the_cashier_and_records_the_fields() {
    let (fake, _) = start().await;
    let form = md5_signed(with(order_fields("LT20250101000001", None), &[("param", "")]));
    let response = client().get(format!("{}submit.php", fake.base_url())).query(&form).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let order = fake.order("LT20250101000001").unwrap();
    assert_eq!(response.headers()["location"], format!("{}cashier/{}", fake.base_url(), order.trade_no));
    assert_eq!((order.version, order.status, order.money.as_str()), (EpayVersion::V1, OrderStatus::Unpaid, "12.50"));
    assert_eq!(order.trade_no.len(), 19);
    assert!(order.trade_no.starts_with("20250101080000"), "China time: {}", order.trade_no);

    // The exact field set the client sent, empty `param` included.
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!((requests[0].endpoint.as_str(), requests[0].method.as_str()), ("submit.php", "GET"));
    assert_eq!(requests[0].fields, form);

    // A form POST of the same order lands on the same trade.
    let response = post(&fake, "submit.php", &form).await;
    assert_eq!(response.status(), 303);
    assert_eq!(fake.orders().len(), 1);
    assert_eq!(fake.requests()[1].method, "POST");
    let page = reqwest::get(response.headers()["location"].to_str().unwrap()).await.unwrap().text().await.unwrap();
    assert!(page.contains("VPS-1C1G") && page.contains("¥12.50") && page.contains("<svg"), "{page}");
}

#[tokio::test]
async fn submit_refusals_are_json_errors_over_http_200() {
    let (fake, _) = start().await;
    let good = order_fields("LT1", None);
    let cases: Vec<(Fields, &str)> = vec![
        (with(md5_signed(good.clone()), &[("sign", "0123456789abcdef0123456789abcdef")]), "签名校验失败"),
        (with(md5_signed(good.clone()), &[("sign_type", "RSA")]), "sign_type"),
        (md5_signed(with(good.clone(), &[("pid", "1002")])), "商户不存在"),
        (md5_signed(with(good.clone(), &[("type", "bank")])), "type"),
        (md5_signed(with(good.clone(), &[("money", "12.505")])), "money"),
        (md5_signed(with(good.clone(), &[("money", "-1")])), "money"),
        (md5_signed(with(good.clone(), &[("return_url", "")])), "return_url"),
        (md5_signed(with(good.clone(), &[("notify_url", "")])), "notify_url"),
        (md5_signed(with(good.clone(), &[("out_trade_no", &"9".repeat(33))])), "out_trade_no"),
        (md5_signed(with(good.clone(), &[("name", "")])), "name"),
    ];
    for (form, expected) in cases {
        let body = json_of(post(&fake, "submit.php", &form).await).await;
        assert_eq!(body["code"], "error", "{body}");
        assert!(body["msg"].as_str().unwrap().contains(expected), "{expected}: {body}");
    }
    assert!(fake.orders().is_empty());
    assert_eq!(fake.requests().len(), 10);
}

#[tokio::test]
async fn mapi_creates_once_per_order_and_checks_what_it_needs() {
    let (fake, _) = start().await;
    let form = md5_signed(with(order_fields("LT2", None), &[("clientip", "203.0.113.7"), ("device", "pc")]));
    let body = post_json(&fake, "mapi.php", &form).await;
    assert_eq!((body["code"].as_i64(), body["msg"].as_str()), (Some(1), Some("success")), "{body}");
    let trade_no = body["trade_no"].as_str().unwrap();
    assert_eq!(body["qrcode"].as_str().unwrap(), format!("{}cashier/{trade_no}", fake.base_url()));
    assert_eq!(fake.order("LT2").unwrap().clientip.as_deref(), Some("203.0.113.7"));

    // The same order again: the same trade, even from another client IP.
    let again = post_json(&fake, "mapi.php", &md5_signed(with(form.clone(), &[("clientip", "198.51.100.1")]))).await;
    assert_eq!(again["trade_no"], trade_no);
    let msg = refused(&post_json(&fake, "mapi.php", &md5_signed(with(form.clone(), &[("money", "12.51")]))).await);
    assert!(msg.contains("金额"), "{msg}");
    let msg = refused(&post_json(&fake, "mapi.php", &md5_signed(with(form.clone(), &[("name", "VPS-2C4G")]))).await);
    assert!(msg.contains("订单号已存在"), "{msg}");
    assert_eq!(fake.orders().len(), 1);

    let mut no_ip = form.clone();
    no_ip.remove("clientip");
    assert!(refused(&post_json(&fake, "mapi.php", &md5_signed(no_ip)).await).contains("clientip"));
    let tv = md5_signed(with(order_fields("LT3", None), &[("clientip", "203.0.113.7"), ("device", "tv")]));
    assert!(refused(&post_json(&fake, "mapi.php", &tv).await).contains("device"));
    // mapi.php takes POST only.
    let response = client().get(format!("{}mapi.php", fake.base_url())).query(&form).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn the_ampersand_key_style_signs_with_key_equals() {
    let (fake, _) = start_with(KeyStyle::AmpersandKey).await;
    let order = with(order_fields("LT4", None), &[("clientip", "203.0.113.7"), ("sign_type", "MD5")]);
    assert!(refused(&post_json(&fake, "mapi.php", &md5_signed(order.clone())).await).contains("签名校验失败"));
    let sign = md5_sign(&order, KEY, KeyStyle::AmpersandKey);
    let body = post_json(&fake, "mapi.php", &with(order, &[("sign", &sign)])).await;
    assert_eq!(body["code"], 1, "{body}");
}

#[tokio::test]
async fn query_finds_orders_by_either_number_with_the_key() {
    let (fake, clock) = start().await;
    let trade_no = create_v1(&fake, "LT5", None).await;
    let by_out = fields(&[("act", "order"), ("pid", "1001"), ("key", KEY), ("out_trade_no", "LT5")]);
    let body = get_json(&fake, "api.php", &by_out).await;
    assert_eq!((body["code"].as_i64(), body["msg"].as_str()), (Some(1), Some("succ")), "{body}");
    assert_eq!((body["trade_no"].as_str(), body["status"].as_i64()), (Some(trade_no.as_str()), Some(0)));
    assert_eq!(
        (body["pid"].as_i64(), body["money"].as_str(), body["type"].as_str()),
        (Some(1001), Some("12.50"), Some("alipay"))
    );
    assert_eq!(body["addtime"], "2025-01-01 08:00:00");
    assert!(body["endtime"].is_null() && body["buyer"].is_null(), "{body}");

    clock.store(NOW_MS + 61_000, Ordering::SeqCst);
    let paid = fake.pay("LT5").unwrap();
    let by_trade = fields(&[("act", "order"), ("pid", "1001"), ("key", KEY), ("trade_no", &trade_no)]);
    let body = get_json(&fake, "api.php", &by_trade).await;
    assert_eq!((body["status"].as_i64(), body["endtime"].as_str()), (Some(1), Some("2025-01-01 08:01:01")));
    assert_eq!(body["buyer"].as_str(), paid.buyer.as_deref());
    assert!(paid.buyer.unwrap().starts_with("2088"));

    let wrong_key = with(by_out.clone(), &[("key", "LantianTestKey124")]);
    assert!(refused(&get_json(&fake, "api.php", &wrong_key).await).contains("密钥"));
    let unknown = with(by_out.clone(), &[("out_trade_no", "LT404")]);
    assert!(refused(&get_json(&fake, "api.php", &unknown).await).contains("不存在"));
    let neither = fields(&[("act", "order"), ("pid", "1001"), ("key", KEY)]);
    assert!(refused(&get_json(&fake, "api.php", &neither).await).contains("trade_no"));
    assert!(refused(&get_json(&fake, "api.php", &with(by_out, &[("act", "close")])).await).contains("No Act"));
}

#[tokio::test]
async fn refunds_only_what_was_paid() {
    let (fake, _) = start().await;
    create_v1(&fake, "LT6", None).await;
    let refund = |money: &str| fields(&[("pid", "1001"), ("key", KEY), ("out_trade_no", "LT6"), ("money", money)]);
    let path = "api.php?act=refund";
    assert!(refused(&post_json(&fake, path, &refund("12.50")).await).contains("not paid"));

    fake.pay("LT6").unwrap();
    assert!(refused(&post_json(&fake, path, &with(refund("1.00"), &[("key", "x")])).await).contains("密钥"));
    assert!(refused(&post_json(&fake, path, &refund("0")).await).contains("money"));
    assert!(refused(&post_json(&fake, path, &refund("12.51")).await).contains("12.50"));
    let body = post_json(&fake, path, &refund("2.50")).await;
    assert_eq!((body["code"].as_i64(), body["msg"].as_str()), (Some(1), Some("退款成功")), "{body}");
    let order = fake.order("LT6").unwrap();
    assert_eq!((order.status, order.refunded.as_str()), (OrderStatus::Paid, "2.50"));
    assert!(refused(&post_json(&fake, path, &refund("10.01")).await).contains("10.00"));
    assert_eq!(post_json(&fake, path, &refund("10.00")).await["code"], 1);
    assert_eq!(fake.order("LT6").unwrap().status, OrderStatus::Refunded);

    let query = fields(&[("act", "order"), ("pid", "1001"), ("key", KEY), ("out_trade_no", "LT6")]);
    assert_eq!(get_json(&fake, "api.php", &query).await["status"], 2);
    // The refund's fields: `act` from the query string, the rest from the body.
    let recorded = &fake.requests()[1];
    assert_eq!(recorded.fields, with(refund("12.50"), &[("act", "refund")]));
}
