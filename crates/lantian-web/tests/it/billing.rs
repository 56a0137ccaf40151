//! Orders, invoices, the balance, and CooPay payments against the EPay fake: checkout's gate,
//! what the gateway learns, notifications (forged, replayed, parallel, late), reconciliation,
//! and another customer's ids in every route.

use std::collections::BTreeMap;
use std::time::Duration;

use lantian_core::authz::{Principal, Role};
use lantian_core::{billing, on_read, on_tx, payments};
use md5::{Digest, Md5};

use crate::helpers::{T0, TestApp, count, signed_in_customer};

/// The EPay fake's merchant id and key (what `point_payments_at` configures).
const PID: &str = "1001";
const KEY: &str = "LantianTestKey123";

async fn exec(app: &TestApp, sql: &'static str, id: i64) {
    let mut tx = app.core.db.begin().await.unwrap();
    on_tx!(&mut tx, c => sqlx::query(sql).bind(id).execute(c).await.unwrap().rows_affected());
    tx.commit().await.unwrap();
}

async fn texts(app: &TestApp, sql: &'static str) -> Vec<String> {
    on_read!(&app.core.db, c => sqlx::query_scalar::<_, String>(sql).fetch_all(c).await.unwrap())
}

/// The starter plan `s1` in Hong Kong (no real name needed), monthly, 29.00 yuan.
async fn hk_order(app: &TestApp, c: &reqwest::Client) -> reqwest::Response {
    let plan = count(app, "SELECT id FROM plans WHERE code = 's1'").await.to_string();
    let region = count(app, "SELECT id FROM regions WHERE code = 'hk-tko'").await.to_string();
    let form = [("plan", plan.as_str()), ("region", &region), ("cycle", "monthly"), ("os_image", "debian-12")];
    c.post(app.url("/account/checkout")).form(&form).send().await.unwrap()
}

async fn seeded(app: &TestApp) {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
}

/// Places an order and returns its invoice id.
async fn invoice(app: &TestApp, c: &reqwest::Client) -> i64 {
    let r = hk_order(app, c).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    to.rsplit('/').next().unwrap().parse().unwrap()
}

/// Starts a QR payment of the invoice; the payment's `out_trade_no`.
async fn qr_payment(app: &TestApp, c: &reqwest::Client, invoice: i64) -> String {
    let r = c
        .post(app.url(&format!("/account/invoices/{invoice}/pay")))
        .form(&[("method", "alipay")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = c.get(app.url(r.headers()["location"].to_str().unwrap())).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("<svg"), "the QR code is on our page");
    app.epay.orders().last().unwrap().out_trade_no.clone()
}

async fn invoice_state(app: &TestApp, id: i64) -> String {
    billing::invoice_for_staff(&app.core.db, &owner(), id).await.unwrap().state
}

fn owner() -> Principal {
    Principal::Staff { id: 0, roles: vec![Role::Owner] }
}

/// Waits (real time: the fake sends notifications on its own) until the invoice is paid.
async fn until_paid(app: &TestApp, id: i64) {
    for _ in 0..200 {
        if invoice_state(app, id).await == "paid" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("invoice {id} not paid");
}

/// The fake's notification attempts, once it has recorded one (it does so after our answer).
async fn sent_notifies(app: &TestApp) -> Vec<lantian_fakes::epay::NotifyAttempt> {
    for _ in 0..200 {
        let sent = app.epay.notifies();
        if !sent.is_empty() {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no notification recorded");
}

/// A notification signed with the merchant key, as the gateway would send it.
fn signed(fields: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut p: BTreeMap<String, String> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let content: Vec<String> = p.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={v}")).collect();
    let digest = Md5::digest(format!("{}{KEY}", content.join("&")).as_bytes());
    let sign: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    p.insert("sign".into(), sign);
    p.insert("sign_type".into(), "MD5".into());
    p
}

fn notify_of(out_trade_no: &str, trade_no: &str, money: &str) -> BTreeMap<String, String> {
    signed(&[
        ("pid", PID),
        ("trade_no", trade_no),
        ("out_trade_no", out_trade_no),
        ("type", "alipay"),
        ("name", "蓝天云"),
        ("money", money),
        ("trade_status", "TRADE_SUCCESS"),
    ])
}

async fn send_notify(app: &TestApp, params: &BTreeMap<String, String>) -> String {
    let r = app.client.get(app.url("/pay/coopay/notify")).query(params).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

db_test!(clause_c1_4_checkout_records_the_order_and_a_gap_free_invoice, |app| {
    seeded(&app).await;
    let (_, c) = signed_in_customer(&app, "buyer_1").await;
    let first = invoice(&app, &c).await;
    let second = invoice(&app, &c).await;
    let orders = texts(
        &app,
        "SELECT kind || ':' || cycle || ':' || months || ':' || amount_fen || ':' || state FROM orders ORDER BY id",
    )
    .await;
    assert_eq!(orders, vec!["new:monthly:1:2900:pending"; 2], "what, how long, how much");
    let numbers = texts(&app, "SELECT number FROM invoices ORDER BY id").await;
    assert_eq!(numbers, vec!["LT-2026-000001", "LT-2026-000002"]);
    // The buyer snapshot holds the pseudonymous account and the username, nothing else.
    let buyer = texts(&app, "SELECT buyer_username || ':' || account_id FROM invoices").await;
    assert!(buyer[0].starts_with("buyer_1:A") && !buyer[0].contains('@'));
    let page = c.get(app.url(&format!("/account/invoices/{first}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("LT-2026-000001") && page.contains("¥29.00") && page.contains("账单"));
    assert!(!page.contains("发票") || page.contains("并非税务发票"), "never called a tax invoice");
    let print = c.get(app.url(&format!("/account/invoices/{second}/print"))).send().await.unwrap();
    assert_eq!(print.status(), 200);
    // Cancelled orders stay on record, and give their server back to stock.
    let stock = count(&app, "SELECT available FROM plan_stock s JOIN plans p ON p.id = s.plan_id JOIN regions r ON r.id = s.region_id WHERE p.code = 's1' AND r.code = 'hk-tko'").await;
    assert_eq!(c.post(app.url(&format!("/account/invoices/{second}/cancel"))).send().await.unwrap().status(), 303);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 2);
    assert_eq!(invoice_state(&app, second).await, "cancelled");
    let after = count(&app, "SELECT available FROM plan_stock s JOIN plans p ON p.id = s.plan_id JOIN regions r ON r.id = s.region_id WHERE p.code = 's1' AND r.code = 'hk-tko'").await;
    assert_eq!(after, stock + 1);
});

db_test!(checkout_refuses_unverified_minors_and_mainland_without_real_name, |app| {
    seeded(&app).await;
    let (id, c) = signed_in_customer(&app, "buyer_2").await;
    exec(&app, "UPDATE customers SET email_verified_at = NULL WHERE id = $1", id).await;
    let r = hk_order(&app, &c).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请先验证您的电子邮箱"));
    // A minor, and a mainland region without real name: sent where the missing step is done.
    exec(&app, "UPDATE customers SET email_verified_at = 1, age_bracket = 'minor' WHERE id = $1", id).await;
    assert_eq!(hk_order(&app, &c).await.headers()["location"], "/account/real-name");
    exec(&app, "UPDATE customers SET age_bracket = 'adult' WHERE id = $1", id).await;
    let plan = count(&app, "SELECT id FROM plans WHERE code = 's1'").await.to_string();
    let sh = count(&app, "SELECT id FROM regions WHERE code = 'cn-sh'").await.to_string();
    let form = [("plan", plan.as_str()), ("region", &sh), ("cycle", "monthly"), ("os_image", "debian-12")];
    let r = c.post(app.url("/account/checkout")).form(&form).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/account/real-name");
    // Bad input: an unknown cycle or image, a coupon that does not exist, HTML in a field.
    for (k, v) in [("cycle", "weekly"), ("os_image", "<script>x</script>"), ("coupon", "NOPE'--")] {
        let mut form: BTreeMap<&str, &str> =
            [("plan", plan.as_str()), ("region", "1"), ("cycle", "monthly"), ("os_image", "debian-12")].into();
        form.insert(k, v);
        let r = c.post(app.url("/account/checkout")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 422, "{k}");
        assert!(!r.text().await.unwrap().contains("<script>x"), "nothing echoed unescaped");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 0, "nothing stored");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invoices").await, 0);
});

db_test!(clause_c3_3_the_gateway_receives_only_order_number_amount_and_product_name, |app| {
    seeded(&app).await;
    let (id, c) = signed_in_customer(&app, "buyer_3").await;
    let inv = invoice(&app, &c).await;
    let out = qr_payment(&app, &c, inv).await;
    let req = app.epay.requests().into_iter().find(|r| r.endpoint == "mapi.php").unwrap();
    let mut fields: Vec<&str> = req.fields.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "clientip",
            "device",
            "money",
            "name",
            "notify_url",
            "out_trade_no",
            "pid",
            "return_url",
            "sign",
            "sign_type",
            "type"
        ]
    );
    assert_eq!(req.fields["out_trade_no"], out);
    assert_eq!(req.fields["money"], "29.00");
    assert_eq!(req.fields["clientip"], app.core.config.payments.public_ip, "the server's address, not the customer's");
    let values = req.fields.values().cloned().collect::<Vec<_>>().join(" ");
    assert!(!values.contains("buyer_3") && !values.contains("mail.example"), "nothing about the buyer");
    // The redirect link sends the same fields (less clientip and device) to submit.php.
    let r = c.get(app.url(&format!("/account/invoices/{inv}/pay?channel=wxpay"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("{}submit.php?", app.epay.base_url())));
    // One disclosure row per payment started, naming the gateway and the fields.
    let rows = texts(&app, "SELECT recipient || ':' || recipient_name || ':' || fields FROM disclosures").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].starts_with("payment_gateway:CooPay:") && rows[0].contains("amount"));
    let mine: i64 = on_read!(&app.core.db, c => sqlx::query_scalar("SELECT COUNT(*) FROM disclosures WHERE subject_id = $1")
        .bind(id).fetch_one(c).await.unwrap());
    assert_eq!(mine, 2);
});

db_test!(clause_c1_5_a_paid_notification_pays_once_and_keeps_only_the_result, |app| {
    seeded(&app).await;
    let (_, c) = signed_in_customer(&app, "buyer_4").await;
    let inv = invoice(&app, &c).await;
    let out = qr_payment(&app, &c, inv).await;
    app.epay.pay(&out).unwrap();
    until_paid(&app, inv).await;
    let attempts = sent_notifies(&app).await;
    assert!(attempts.last().unwrap().acknowledged(), "answered `success`");
    let kept = texts(&app, "SELECT fields FROM payment_callbacks").await;
    assert_eq!(kept.len(), 1);
    let fields: BTreeMap<String, String> = serde_json::from_str(&kept[0]).unwrap();
    for k in fields.keys() {
        assert!(payments::callbacks::KEPT_FIELDS.contains(&k.as_str()), "{k} stored");
    }
    assert!(!kept[0].contains("sign"), "{}", kept[0]);
    assert_eq!(texts(&app, "SELECT state FROM payment_callbacks").await, vec!["applied"]);
    assert_eq!(texts(&app, "SELECT state FROM payments").await, vec!["paid"]);
    // The customer is told by mail (a billing notice).
    app.worker().drain().await.unwrap();
    let to_buyer = |m: &&lantian_fakes::smtp::ReceivedMessage| m.rcpt_to == vec!["buyer_4@mail.example".to_string()];
    let messages = app.smtp.messages();
    let mail = messages.iter().filter(to_buyer).find(|m| m.subject.contains("已收到付款")).expect("a payment notice");
    assert!(mail.text_body.contains("¥29.00") && mail.text_body.contains("LT-2026-000001"), "{}", mail.text_body);
    // No card number or payment password is asked for on any of our pages.
    let page = c.get(app.url(&format!("/account/invoices/{inv}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已支付") && !page.contains("type=\"password\""));
    // The browser's return shows the invoice and never pays anything by itself.
    let r = c.get(app.url("/pay/coopay/return")).query(&notify_of(&out, "T-fake", "29.00")).send().await.unwrap();
    assert_eq!(r.headers()["location"], format!("/account/invoices/{inv}").as_str());
});

db_test!(forged_altered_and_foreign_notifications_change_nothing, |app| {
    seeded(&app).await;
    let (_, c) = signed_in_customer(&app, "buyer_5").await;
    let inv = invoice(&app, &c).await;
    let out = qr_payment(&app, &c, inv).await;
    let mut forged = notify_of(&out, "T1", "29.00");
    forged.insert("sign".into(), "0".repeat(32));
    assert_eq!(send_notify(&app, &forged).await, "fail");
    let mut resigned = notify_of(&out, "T1", "29.00");
    resigned.insert("money".into(), "0.01".into());
    assert_eq!(send_notify(&app, &resigned).await, "fail", "signature over other parameters");
    let mut other_merchant = notify_of(&out, "T1", "29.00");
    other_merchant = signed(
        &other_merchant
            .iter()
            .filter(|(k, _)| !k.starts_with("sign"))
            .map(|(k, v)| (k.as_str(), if k == "pid" { "1002" } else { v.as_str() }))
            .collect::<Vec<_>>(),
    );
    assert_eq!(send_notify(&app, &other_merchant).await, "fail");
    let missing =
        signed(&[("pid", PID), ("out_trade_no", &out), ("money", "29.00"), ("trade_status", "TRADE_SUCCESS")]);
    assert_eq!(send_notify(&app, &missing).await, "fail");
    // Correctly signed but wrong: one fen more, an unknown payment. Recorded and refused.
    assert_eq!(send_notify(&app, &notify_of(&out, "T2", "29.01")).await, "success");
    assert_eq!(send_notify(&app, &notify_of("P999", "T3", "29.00")).await, "success");
    assert_eq!(invoice_state(&app, inv).await, "unpaid");
    let outcomes = texts(&app, "SELECT state || ':' || COALESCE(outcome, '') FROM payment_callbacks ORDER BY id").await;
    assert_eq!(
        outcomes,
        [
            "refused:bad_signature",
            "refused:bad_signature",
            "refused:wrong_merchant",
            "refused:bad_field",
            "refused:amount_mismatch",
            "refused:unknown_payment"
        ]
    );
    // Extra fields the gateway may add are accepted (they are signed); the real one pays.
    let mut extra = notify_of(&out, "T4", "29.00");
    extra.remove("sign");
    extra.insert("new_field".into(), "x".into());
    let extra = signed(
        &extra.iter().filter(|(k, _)| *k != "sign_type").map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(),
    );
    assert_eq!(send_notify(&app, &extra).await, "success");
    assert_eq!(invoice_state(&app, inv).await, "paid");
    assert!(!texts(&app, "SELECT fields FROM payment_callbacks").await.iter().any(|f| f.contains("new_field")));
});

db_test!(the_same_notification_twenty_times_in_parallel_pays_once, |app| {
    seeded(&app).await;
    let (_, c) = signed_in_customer(&app, "buyer_6").await;
    let inv = invoice(&app, &c).await;
    let out = qr_payment(&app, &c, inv).await;
    let params = notify_of(&out, "T-par", "29.00");
    let sends = (0..20).map(|_| send_notify(&app, &params));
    let answers = futures::future::join_all(sends).await;
    assert!(answers.iter().all(|a| a == "success"), "{answers:?}");
    // A second, different notification of the same trade (a re-send with another field).
    let mut later = notify_of(&out, "T-par", "29.00");
    later.remove("sign");
    later.insert("endtime".into(), "2026-01-01 00:00:09".into());
    let later = signed(
        &later.iter().filter(|(k, _)| *k != "sign_type").map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(),
    );
    assert_eq!(send_notify(&app, &later).await, "success");
    assert_eq!(invoice_state(&app, inv).await, "paid");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payments WHERE state = 'paid'").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_callbacks").await, 2, "repeats absorbed by the payload hash");
    assert_eq!(
        texts(&app, "SELECT state || ':' || COALESCE(outcome, '') FROM payment_callbacks ORDER BY id").await,
        ["applied:", "ignored:duplicate"]
    );
});

db_test!(duplicate_and_late_notifications_from_the_gateway_pay_once, |app| {
    seeded(&app).await;
    let (_, c) = signed_in_customer(&app, "buyer_7").await;
    let inv = invoice(&app, &c).await;
    let out = qr_payment(&app, &c, inv).await;
    app.epay.faults().set_duplicate_notifies(5);
    app.epay.pay(&out).unwrap();
    until_paid(&app, inv).await;
    for _ in 0..200 {
        if app.epay.notifies().len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(app.epay.notifies().len() >= 5, "the copies all arrived");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payments WHERE state = 'paid'").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_callbacks WHERE state = 'applied'").await, 1);
});

db_test!(reconciliation_finds_a_lost_notification_and_races_a_late_one, |app| {
    seeded(&app).await;
    let (_, c) = signed_in_customer(&app, "buyer_8").await;
    let inv = invoice(&app, &c).await;
    let out = qr_payment(&app, &c, inv).await;
    app.epay.faults().suppress_notify_next(1);
    let paid = app.epay.pay(&out).unwrap();
    // Too young: left to its notification.
    assert_eq!(payments::reconcile(&app.core, app.core.now()).await.unwrap().found_paid, 0);
    app.clock.advance(Duration::from_secs(300));
    let late = notify_of(&out, &paid.trade_no, "29.00");
    let (found, answer) = tokio::join!(payments::reconcile(&app.core, app.core.now()), send_notify(&app, &late));
    assert_eq!(answer, "success");
    assert!(found.unwrap().found_paid <= 1);
    assert_eq!(invoice_state(&app, inv).await, "paid");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payments WHERE state = 'paid'").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_callbacks WHERE state = 'applied'").await, 1);
    // A gateway that fails its queries does not stop the run.
    app.epay.faults().query_server_error_next(5);
    payments::reconcile(&app.core, app.core.now()).await.unwrap();
});

db_test!(parallel_balance_payments_never_overdraw, |app| {
    seeded(&app).await;
    let (id, c) = signed_in_customer(&app, "buyer_9").await;
    let staff = Principal::Staff {
        id: crate::helpers::create_staff(&app, "cashier", &[Role::Billing]).await.0,
        roles: vec![Role::Billing],
    };
    billing::adjust_balance(&app.core, &staff, id, 10_000, "goodwill credit", app.core.now()).await.unwrap();
    let mut invoices = Vec::new();
    for _ in 0..8 {
        invoices.push(invoice(&app, &c).await);
    }
    let pays = invoices.iter().map(|inv| billing::pay_with_balance(&app.core, id, *inv, app.core.now()));
    let results = futures::future::join_all(pays).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3, "100 yuan pays three invoices of 29");
    let (account, balance) = billing::account(&app.core.db, id).await.unwrap().unwrap();
    assert_eq!(balance, 10_000 - 3 * 2900);
    assert_eq!(
        billing::ledger_sum(&app.core.db, &account).await.unwrap(),
        balance,
        "the ledger adds up to the balance"
    );
    let page = c.get(app.url("/account/balance")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("¥13.00") && page.contains("goodwill credit"));
    // A negative adjustment past zero is refused.
    assert!(billing::adjust_balance(&app.core, &staff, id, -5_000, "chargeback", app.core.now()).await.is_err());
});

db_test!(another_customers_invoice_and_payment_are_not_found_anywhere, |app| {
    seeded(&app).await;
    let (_, owner_c) = signed_in_customer(&app, "buyer_10").await;
    let inv = invoice(&app, &owner_c).await;
    qr_payment(&app, &owner_c, inv).await;
    let payment = count(&app, "SELECT MAX(id) FROM payments").await;
    let (_, other) = signed_in_customer(&app, "buyer_11").await;
    for path in [
        format!("/account/invoices/{inv}"),
        format!("/account/invoices/{inv}/print"),
        format!("/account/invoices/{inv}/pay?channel=alipay"),
        format!("/account/payments/{payment}"),
    ] {
        assert_eq!(other.get(app.url(&path)).send().await.unwrap().status(), 404, "{path}");
    }
    for (path, method) in [
        (format!("/account/invoices/{inv}/pay"), "balance"),
        (format!("/account/invoices/{inv}/pay"), "alipay"),
        (format!("/account/invoices/{inv}/cancel"), ""),
    ] {
        let r = other.post(app.url(&path)).form(&[("method", method)]).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path} {method}");
    }
    assert_eq!(invoice_state(&app, inv).await, "unpaid");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payments").await, 1);
});

db_test!(unpaid_orders_are_cancelled_after_the_configured_days, |app| {
    seeded(&app).await;
    let (_, c) = signed_in_customer(&app, "buyer_12").await;
    let inv = invoice(&app, &c).await;
    app.clock.advance(Duration::from_secs(6 * 86_400));
    assert_eq!(billing::cancel_stale_orders(&app.core, app.core.now()).await.unwrap(), 0);
    app.clock.advance(Duration::from_secs(2 * 86_400));
    assert_eq!(billing::cancel_stale_orders(&app.core, app.core.now()).await.unwrap(), 1);
    assert_eq!(invoice_state(&app, inv).await, "cancelled");
    // A payment arriving for it now is recorded and refused: the money is for staff to refund,
    // and billing staff are told (support staff are not).
    let (cashier, _) = crate::helpers::create_staff(&app, "cashier", &[Role::Billing]).await;
    let (helpdesk, _) = crate::helpers::create_staff(&app, "helpdesk", &[Role::Support]).await;
    let out = "P1";
    assert_eq!(send_notify(&app, &notify_of(out, "T9", "29.00")).await, "success");
    assert_eq!(invoice_state(&app, inv).await, "cancelled");
    let told = |id: i64| {
        format!(
            "SELECT COUNT(*) FROM notices WHERE subject_kind = 'staff' AND subject_id = {id} AND event = 'payment-refused'"
        )
    };
    assert_eq!(count(&app, &told(cashier)).await, 1);
    assert_eq!(count(&app, &told(helpdesk)).await, 0);
});

db_test!(coupons_discount_within_their_limits, |app| {
    seeded(&app).await;
    let staff = Principal::Staff {
        id: crate::helpers::create_staff(&app, "shopkeeper", &[Role::Admin]).await.0,
        roles: vec![Role::Admin],
    };
    let input = billing::CouponInput {
        code: "spring15".into(),
        kind: "percent".into(),
        value: 15,
        valid_from: T0,
        valid_until: T0.plus(Duration::from_secs(86_400)),
        max_uses: Some(10),
        per_account: 1,
    };
    billing::create_coupon(&app.core, &staff, &input, T0).await.unwrap();
    let (_, c) = signed_in_customer(&app, "buyer_13").await;
    let plan = count(&app, "SELECT id FROM plans WHERE code = 's1'").await.to_string();
    let region = count(&app, "SELECT id FROM regions WHERE code = 'hk-tko'").await.to_string();
    let form = [
        ("plan", plan.as_str()),
        ("region", &region),
        ("cycle", "monthly"),
        ("os_image", "debian-12"),
        ("coupon", "Spring15"),
    ];
    assert_eq!(c.post(app.url("/account/checkout")).form(&form).send().await.unwrap().status(), 303);
    assert_eq!(count(&app, "SELECT amount_fen FROM invoices").await, 2900 - 435);
    let again = c.post(app.url("/account/checkout")).form(&form).send().await.unwrap();
    assert_eq!(again.status(), 422, "once per account");
    assert_eq!(count(&app, "SELECT used FROM coupons").await, 1);
});

/// Adds `n` paid invoices (and ledger rows) to the customer's billing account, fast.
async fn many_invoices(app: &TestApp, customer: i64, n: i64) {
    let mut tx = app.core.db.begin().await.unwrap();
    on_tx!(&mut tx, c => sqlx::query("INSERT INTO billing_accounts (id, customer_id, balance_fen, created_at) VALUES ('ABULK', $1, 0, 0) ON CONFLICT (customer_id) DO NOTHING").bind(customer).execute(c).await.unwrap().rows_affected());
    for i in 0..n {
        let order: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO orders (account_id, kind, months, discount_fen, amount_fen, state, created_at) VALUES ('ABULK', 'top_up', 0, 0, 100, 'paid', 0) RETURNING id").fetch_one(c).await.unwrap());
        let invoice: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO invoices (number, account_id, kind, buyer_username, item_zh, item_en, price_fen, discount_fen, amount_fen, state, issued_at) VALUES ($1, 'ABULK', 'top_up', 'bulk', '充值', 'Top-up', 100, 0, 100, 'paid', 0) RETURNING id").bind(format!("BULK-{i}")).fetch_one(c).await.unwrap());
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO invoice_lines (order_id, invoice_id, item_zh, item_en, price_fen, discount_fen, amount_fen) VALUES ($1, $2, '充值', 'Top-up', 100, 0, 100)").bind(order).bind(invoice).execute(c).await.unwrap().rows_affected());
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO ledger (account_id, kind, amount_fen, balance_after, created_at) VALUES ('ABULK', 'top_up', 100, $1, 0)").bind((i + 1) * 100).execute(c).await.unwrap().rows_affected());
    }
    tx.commit().await.unwrap();
}

/// How many reads one call made.
async fn reads_of<F: std::future::Future>(f: F) -> u64 {
    let before = lantian_core::db::reads_so_far();
    f.await;
    lantian_core::db::reads_so_far() - before
}

db_test!(invoice_and_ledger_pages_read_the_same_whatever_the_size, |app| {
    let (small, _) = signed_in_customer(&app, "small_1").await;
    let (large, _) = signed_in_customer(&app, "large_1").await;
    many_invoices(&app, large, 10_000).await;
    exec(
        &app,
        "INSERT INTO billing_accounts (id, customer_id, balance_fen, created_at) VALUES ('ASMALL', $1, 0, 0)",
        small,
    )
    .await;
    let db = &app.core.db;
    let few = reads_of(billing::invoices(db, small, 0)).await;
    let many = reads_of(billing::invoices(db, large, 0)).await;
    assert_eq!((few, many), (2, 2), "one read for the account, one for the page");
    assert_eq!(billing::invoices(db, large, 0).await.unwrap().len() as i64, billing::PAGE);
    let last = billing::invoices(db, large, 0).await.unwrap().last().unwrap().id;
    assert_eq!(reads_of(billing::invoices(db, large, last)).await, 2, "later pages too");
    assert_eq!(reads_of(billing::ledger(db, small, 0)).await, reads_of(billing::ledger(db, large, 0)).await);
});

db_test_with!(
    clause_c1_5_epay_v2_signs_with_rsa_and_the_buyer_is_never_stored,
    |c: &mut lantian_core::config::Config| {
        c.payments.version = lantian_core::config::EpayVersion::V2;
        c.payments.merchant_private_key = lantian_core::config::Secret::new(MERCHANT_PRIVATE_PEM);
        c.payments.platform_public_key = PLATFORM_PUBLIC_PEM.into();
    },
    |app| {
        app.epay.set_merchant_public_key_pem(MERCHANT_PUBLIC_PEM).unwrap();
        seeded(&app).await;
        let (_, c) = signed_in_customer(&app, "buyer_v2").await;
        let inv = invoice(&app, &c).await;
        let out = qr_payment(&app, &c, inv).await;
        assert!(app.epay.requests().iter().any(|r| r.endpoint == "api/pay/create"));
        app.epay.pay(&out).unwrap();
        until_paid(&app, inv).await;
        let sent = sent_notifies(&app).await;
        assert!(sent[0].params.contains_key("buyer"), "the V2 notification carries the buyer");
        let kept = texts(&app, "SELECT fields FROM payment_callbacks").await;
        assert!(!kept[0].contains("buyer") && !kept[0].contains(&sent[0].params["buyer"]), "{}", kept[0]);
        assert!(kept[0].contains("api_trade_no"));
    }
);

const MERCHANT_PRIVATE_PEM: &str =
    include_str!("../../../lantian-core/src/payments/coopay/testdata/merchant_private.pem");
const MERCHANT_PUBLIC_PEM: &str =
    include_str!("../../../lantian-core/src/payments/coopay/testdata/merchant_public.pem");
const PLATFORM_PUBLIC_PEM: &str =
    include_str!("../../../lantian-core/src/payments/coopay/testdata/platform_public.pem");
