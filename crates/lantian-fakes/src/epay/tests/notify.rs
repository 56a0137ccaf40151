use super::*;
use crate::epay::{OrderActionError, OrderStatus};

/// What a V1 notification carries, by name.
const V1_FIELDS: [&str; 10] =
    ["money", "name", "out_trade_no", "param", "pid", "sign", "sign_type", "trade_no", "trade_status", "type"];

fn names(fields: &Fields) -> Vec<&str> {
    fields.keys().map(String::as_str).collect()
}

#[tokio::test]
async fn v1_notification_is_resent_until_the_body_is_exactly_success() {
    let (fake, _) = start().await;
    // Wrong answers first: `fail`, a trailing newline, anything else.
    let merchant =
        MerchantServer::start(|call, _| ["fail", "success\n", "oops", "success"][call.min(3)].to_owned()).await;
    let form =
        md5_signed(with(order_fields("LT30", Some(merchant.addr())), &[("param", "uid=7"), ("clientip", "::1")]));
    assert_eq!(post_json(&fake, "mapi.php", &form).await["code"], 1);
    let order = fake.pay("LT30").unwrap();
    assert_eq!(order.status, OrderStatus::Paid);

    eventually("the acknowledged notification", || fake.notifies().iter().any(|n| n.acknowledged())).await;
    let attempts = fake.notifies();
    assert_eq!(attempts.iter().map(|n| n.attempt).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(attempts[0].body.as_deref(), Some("fail"));
    assert_eq!(attempts[1].body.as_deref(), Some("success\n"));
    // The waits between sends follow the schedule, a millisecond a second here.
    let received = merchant.received();
    assert_eq!(received.len(), 4);
    let notify = &received[0];
    assert_eq!(names(notify), V1_FIELDS);
    assert_eq!(notify["trade_status"], "TRADE_SUCCESS");
    assert_eq!((notify["money"].as_str(), notify["param"].as_str()), ("12.50", "uid=7"));
    assert_eq!(notify["trade_no"], order.trade_no);
    assert_eq!(notify["sign_type"], "MD5");
    assert_eq!(notify["sign"], md5_sign(notify, KEY, KeyStyle::Appended));
    // The record holds what was sent, and the URL it was sent to.
    assert_eq!(&attempts[0].params, notify);
    assert!(attempts[0].url.starts_with(&format!("http://{}/notify?", merchant.addr())), "{}", attempts[0].url);
    assert_eq!(attempts[0].status, Some(200));

    // Acknowledged: nothing more comes.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(merchant.received().len(), 4);
}

#[tokio::test]
async fn v2_notification_is_rsa_signed_with_the_extra_fields() {
    let (fake, clock) = start().await;
    let merchant = MerchantServer::acknowledging().await;
    let create = with(order_fields("LT31", Some(merchant.addr())), &[("method", "web"), ("clientip", "::1")]);
    assert_eq!(post_json(&fake, "api/pay/create", &rsa_signed(create, NOW_MS)).await["code"], 0);
    clock.store(NOW_MS + 5_000, Ordering::SeqCst);
    let order = fake.pay("LT31").unwrap();

    eventually("the notification", || !merchant.received().is_empty()).await;
    let notify = &merchant.received()[0];
    assert_eq!(
        names(notify),
        [
            "addtime",
            "api_trade_no",
            "buyer",
            "endtime",
            "money",
            "name",
            "out_trade_no",
            "pid",
            "sign",
            "sign_type",
            "timestamp",
            "trade_no",
            "trade_status",
            "type",
        ]
    );
    assert_eq!(notify["sign_type"], "RSA");
    assert_eq!(notify["timestamp"], "1735689605");
    assert_eq!(
        (notify["addtime"].as_str(), notify["endtime"].as_str()),
        ("2025-01-01 08:00:00", "2025-01-01 08:00:05")
    );
    assert_eq!(Some(&notify["buyer"]), order.buyer.as_ref());
    assert_eq!(Some(&notify["api_trade_no"]), order.api_trade_no.as_ref());
    let platform = parse_public_key(&fake.platform_public_key_pem()).unwrap();
    assert!(verify(&platform, &content(notify), &notify["sign"]));
    eventually("the record", || fake.notifies().len() == 1 && fake.notifies()[0].acknowledged()).await;
}

#[tokio::test]
async fn gives_up_after_the_last_send_of_the_schedule() {
    let (fake, _) = start().await;
    let merchant = MerchantServer::start(|_, _| "fail".to_owned()).await;
    create_v1(&fake, "LT32", Some(merchant.addr())).await;
    let started = Instant::now();
    fake.pay("LT32").unwrap();
    eventually("six sends", || fake.notifies().len() == 6).await;
    // 0 + 15 + 15 + 30 + 180 + 1800 ms.
    assert!(started.elapsed() >= Duration::from_millis(2040), "{:?}", started.elapsed());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(merchant.received().len(), 6);
}

#[tokio::test]
async fn an_unreachable_merchant_is_recorded_and_retried() {
    let (fake, _) = start().await;
    // Port 9 (discard) on loopback: nothing listens there in a test sandbox.
    create_v1(&fake, "LT33", None).await;
    fake.pay("LT33").unwrap();
    eventually("two attempts", || fake.notifies().len() >= 2).await;
    let first = &fake.notifies()[0];
    assert!(first.status.is_none() && first.error.is_some(), "{first:?}");
    assert!(!first.acknowledged());
}

#[tokio::test]
async fn pay_and_fail_act_on_unpaid_orders_only() {
    let (fake, _) = start().await;
    assert_eq!(fake.pay("LT404"), Err(OrderActionError::UnknownOrder("LT404".into())));
    create_v1(&fake, "LT34", None).await;
    create_v1(&fake, "LT35", None).await;
    let failed = fake.fail("LT34").unwrap();
    assert_eq!(failed.status, OrderStatus::Failed);
    let err = fake.pay("LT34").unwrap_err();
    assert_eq!(err, OrderActionError::NotUnpaid { out_trade_no: "LT34".into(), status: OrderStatus::Failed });
    assert!(err.to_string().contains("Failed"), "{err}");
    fake.pay("LT35").unwrap();
    assert!(matches!(fake.fail("LT35"), Err(OrderActionError::NotUnpaid { status: OrderStatus::Paid, .. })));
    // A failed order is reported unpaid, with no notification.
    let query = fields(&[("act", "order"), ("pid", "1001"), ("key", KEY), ("out_trade_no", "LT34")]);
    assert_eq!(get_json(&fake, "api.php", &query).await["status"], 0);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(fake.notifies().iter().all(|n| n.out_trade_no == "LT35"));
}
