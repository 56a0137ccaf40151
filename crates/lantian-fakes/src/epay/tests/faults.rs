use super::*;
use crate::epay::OrderStatus;

/// A merchant that checks the V1 signature, as a correct client does.
async fn verifying_merchant() -> MerchantServer {
    MerchantServer::start(|_, fields| {
        let good = fields.get("sign") == Some(&md5_sign(fields, KEY, KeyStyle::Appended));
        let answer = if good { "success" } else { "fail" };
        answer.to_owned()
    })
    .await
}

#[tokio::test]
async fn a_forged_signature_is_followed_by_a_good_one() {
    let (fake, _) = start().await;
    let merchant = verifying_merchant().await;
    create_v1(&fake, "LT40", Some(merchant.addr())).await;
    fake.faults().bad_signature_next(1);
    fake.pay("LT40").unwrap();
    eventually("the acknowledgement", || fake.notifies().iter().any(|n| n.acknowledged())).await;
    let attempts = fake.notifies();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].body.as_deref(), Some("fail"));
    // Same data, a signature that is well-formed but over something else.
    assert_ne!(attempts[0].params["sign"], attempts[1].params["sign"]);
    assert_eq!(attempts[0].params["sign"].len(), 32);
    let without_sign = |fields: &Fields| with(fields.clone(), &[("sign", "")]);
    assert_eq!(without_sign(&attempts[0].params), without_sign(&attempts[1].params));
}

#[tokio::test]
async fn duplicates_come_at_once_and_after_the_acknowledgement() {
    let (fake, _) = start().await;
    let merchant = MerchantServer::acknowledging().await;
    create_v1(&fake, "LT41", Some(merchant.addr())).await;
    fake.faults().set_duplicate_notifies(3);
    fake.pay("LT41").unwrap();
    eventually("four copies", || fake.notifies().len() == 4).await;
    let received = merchant.received();
    assert_eq!(received.len(), 4);
    assert!(received.iter().all(|fields| fields == &received[0]));
    assert!(fake.notifies().iter().all(|n| n.attempt == 1 && n.acknowledged()));
}

#[tokio::test]
async fn a_late_notification_waits_first() {
    let (fake, _) = start().await;
    let merchant = MerchantServer::acknowledging().await;
    create_v1(&fake, "LT42", Some(merchant.addr())).await;
    fake.faults().set_late_notify(Duration::from_millis(300));
    let paid_at = Instant::now();
    fake.pay("LT42").unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(merchant.received().is_empty());
    eventually("the notification", || !merchant.received().is_empty()).await;
    assert!(paid_at.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_mismatched_amount_is_correctly_signed() {
    let (fake, _) = start().await;
    let merchant = verifying_merchant().await;
    create_v1(&fake, "LT43", Some(merchant.addr())).await;
    fake.faults().amount_mismatch_next(1);
    fake.pay("LT43").unwrap();
    eventually("the notification", || !merchant.received().is_empty()).await;
    assert_eq!(merchant.received()[0]["money"], "12.51");
    eventually("the acknowledgement", || fake.notifies().first().is_some_and(|n| n.acknowledged())).await;
    // The order itself is unchanged.
    assert_eq!(fake.order("LT43").unwrap().money, "12.50");
}

#[tokio::test]
async fn a_suppressed_notification_leaves_only_the_query() {
    let (fake, _) = start().await;
    let merchant = MerchantServer::acknowledging().await;
    create_v1(&fake, "LT44", Some(merchant.addr())).await;
    create_v1(&fake, "LT45", Some(merchant.addr())).await;
    fake.faults().suppress_notify_next(1);
    fake.pay("LT44").unwrap();
    fake.pay("LT45").unwrap();
    eventually("the second order's notification", || merchant.received().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(merchant.received()[0]["out_trade_no"], "LT45");
    assert_eq!(fake.order("LT44").unwrap().status, OrderStatus::Paid);
    let query = fields(&[("act", "order"), ("pid", "1001"), ("key", KEY), ("out_trade_no", "LT44")]);
    assert_eq!(get_json(&fake, "api.php", &query).await["status"], 1);
}

#[tokio::test]
async fn queries_fail_or_hang_on_demand() {
    let (fake, _) = start().await;
    create_v1(&fake, "LT46", None).await;
    let v1 = fields(&[("act", "order"), ("pid", "1001"), ("key", KEY), ("out_trade_no", "LT46")]);
    let v1_url = format!("{}api.php", fake.base_url());
    fake.faults().query_server_error_next(2);
    let response = client().get(&v1_url).query(&v1).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let v2 = rsa_signed(fields(&[("pid", "1001"), ("out_trade_no", "LT46")]), NOW_MS);
    assert_eq!(post(&fake, "api/pay/query", &v2).await.status(), 500);
    assert_eq!(get_json(&fake, "api.php", &v1).await["code"], 1);

    fake.faults().query_hang_next(1, Duration::from_secs(3));
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let err = impatient.get(&v1_url).query(&v1).send().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(get_json(&fake, "api.php", &v1).await["code"], 1);
    // Stopping the fake cuts a hang short.
    fake.faults().query_hang_next(1, Duration::from_secs(60));
    let hanging = tokio::spawn(client().get(&v1_url).query(&v1).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = Instant::now();
    fake.shutdown().await;
    assert!(stopping.elapsed() < Duration::from_secs(3), "{:?}", stopping.elapsed());
    drop(hanging);
}

#[tokio::test]
async fn create_errors_then_success() {
    let (fake, _) = start().await;
    fake.faults().create_error_next(2, "通道维护 channel down");
    let v1 = md5_signed(with(order_fields("LT47", None), &[("clientip", "::1")]));
    assert_eq!(refused(&post_json(&fake, "mapi.php", &v1).await), "通道维护 channel down");
    let v2 = rsa_signed(with(order_fields("LT48", None), &[("clientip", "::1"), ("method", "web")]), NOW_MS);
    assert_eq!(refused(&post_json(&fake, "api/pay/create", &v2).await), "通道维护 channel down");
    assert!(fake.orders().is_empty());
    assert_eq!(post_json(&fake, "mapi.php", &v1).await["code"], 1);

    fake.faults().create_error_next(1, "x");
    fake.faults().reset();
    assert_eq!(post_json(&fake, "api/pay/create", &v2).await["code"], 0);
}
