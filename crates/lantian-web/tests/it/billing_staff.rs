//! The console's billing and catalog pages: refunds to the balance and through the EPay fake,
//! the callbacks list, audited balance adjustments, roles and form tokens, refused amounts,
//! and a plan, its price, stock and a coupon made by staff and seen in the shop.

use lantian_core::authz::Role;
use lantian_core::billing;

use crate::helpers::{T0, TestApp, count, create_staff, csrf_of, first_sign_in, signed_in_customer};

/// A paid invoice of 29.00 yuan (the starter plan `s1`, monthly, in Hong Kong), paid by QR
/// code through the EPay fake: (invoice id, payment id, out_trade_no, customer id).
async fn paid_invoice(app: &TestApp) -> (i64, i64, String, i64) {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    let (customer, c) = signed_in_customer(app, "payer").await;
    let plan = count(app, "SELECT id FROM plans WHERE code = 's1'").await.to_string();
    let region = count(app, "SELECT id FROM regions WHERE code = 'hk-tko'").await.to_string();
    let form = [("plan", plan.as_str()), ("region", &region), ("cycle", "monthly"), ("os_image", "debian-12")];
    let r = c.post(app.url("/account/checkout")).form(&form).send().await.unwrap();
    let invoice: i64 = r.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().parse().unwrap();
    let r = c.post(app.url(&format!("/account/invoices/{invoice}/pay"))).form(&[("method", "alipay")]).send().await;
    assert_eq!(r.unwrap().status(), 303);
    let out = app.epay.orders().last().unwrap().out_trade_no.clone();
    app.epay.pay(&out).unwrap();
    for _ in 0..200 {
        if count(app, &format!("SELECT COUNT(*) FROM invoices WHERE id = {invoice} AND state = 'paid'")).await == 1 {
            let payment = count(app, "SELECT MAX(id) FROM payments").await;
            return (invoice, payment, out, customer);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("invoice {invoice} not paid");
}

/// A member with these roles, signed in on a fresh client, and the form token.
async fn member(app: &TestApp, username: &str, roles: &[Role]) -> (reqwest::Client, String) {
    let (_, one_time) = create_staff(app, username, roles).await;
    let c = app.new_client();
    first_sign_in(app, &c, username, &one_time).await;
    let csrf = csrf_of(app, &c).await;
    (c, csrf)
}

async fn post(app: &TestApp, c: &reqwest::Client, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = c.post(app.url(path)).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(r.text().await.unwrap()))
}

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> String {
    let r = c.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// How many audit rows of `action` there are, with a reason when `reason` is given.
async fn audited(app: &TestApp, action: &str, reason: Option<&str>) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
    match reason {
        Some(r) => count(app, &format!("{sql} AND reason = '{r}'")).await,
        None => count(app, &sql).await,
    }
}

db_test!(billing_staff_refund_to_the_balance_and_through_the_gateway, |app| {
    let (invoice, payment, out, customer) = paid_invoice(&app).await;
    let (c, csrf) = member(&app, "cashier", &[Role::Billing]).await;
    let list = page(&app, &c, "/staff/invoices?state=paid").await;
    assert!(list.contains("LT-2026-000001") && list.contains("payer"), "the paid invoice is listed");
    assert!(!page(&app, &c, "/staff/invoices?state=unpaid").await.contains("LT-2026-000001"));
    let detail = page(&app, &c, &format!("/staff/invoices/{invoice}")).await;
    assert!(detail.contains(&out) && detail.contains("id=\"refund-balance\""));
    // Part to the balance.
    let path = format!("/staff/invoices/{invoice}/refund");
    let form = [("amount", "5.00"), ("reason", "late delivery"), ("csrf", csrf.as_str())];
    let (status, to) = post(&app, &c, &path, &form).await;
    assert_eq!((status, to.as_str()), (303, format!("/staff/invoices/{invoice}?done=balance").as_str()));
    assert_eq!(billing::account(&app.core.db, customer).await.unwrap().unwrap().1, 500);
    // Part through the gateway, back to where the money came from.
    let path = format!("/staff/invoices/{invoice}/payments/{payment}/refund");
    let form = [("amount", "10"), ("reason", "customer asked"), ("csrf", csrf.as_str())];
    assert_eq!(post(&app, &c, &path, &form).await.0, 303);
    assert_eq!(app.epay.order(&out).unwrap().refunded, "10.00");
    assert_eq!(count(&app, &format!("SELECT refunded_fen FROM invoices WHERE id = {invoice}")).await, 1500);
    // More than is left (14.00) is refused next to the form, in the member's language.
    let form = [("amount", "14.01"), ("reason", "customer asked"), ("csrf", csrf.as_str())];
    let (status, body) = post(&app, &c, &path, &form).await;
    assert_eq!(status, 422);
    assert!(body.contains(&format!("id=\"payment-{payment}-error\"")) && body.contains("退款金额超过可退金额"));
    assert_eq!(app.epay.order(&out).unwrap().refunded, "10.00");
    // A gateway that refuses the refund: nothing is booked, the reservation is given back.
    app.epay.faults().refuse_refund_next(1);
    let form = [("amount", "1"), ("reason", "customer asked"), ("csrf", csrf.as_str())];
    assert_eq!(post(&app, &c, &path, &form).await.0, 502);
    assert_eq!(app.epay.order(&out).unwrap().refunded, "10.00");
    assert_eq!(count(&app, &format!("SELECT refunded_fen FROM invoices WHERE id = {invoice}")).await, 1500);
    assert_eq!(count(&app, &format!("SELECT refunded_fen FROM payments WHERE id = {payment}")).await, 1000);
    let shown = page(&app, &c, &format!("/staff/invoices/{invoice}")).await;
    assert!(shown.contains("¥15.00"), "the refunded total is shown");
    // Both refunds are in the audit trail with their reasons.
    assert_eq!(audited(&app, "billing.refund_to_balance", Some("late delivery")).await, 1);
    assert_eq!(audited(&app, "payment.refund", Some("customer asked")).await, 1);
    // The gateway's notification is listed with its outcome.
    let callbacks = page(&app, &c, "/staff/callbacks").await;
    assert!(callbacks.contains(&out) && callbacks.contains("已入账"), "applied callback shown");
});

db_test!(billing_staff_adjust_a_balance_with_a_reason_and_bad_amounts_change_nothing, |app| {
    let (invoice, payment, _, _) = paid_invoice(&app).await;
    let (customer, _) = signed_in_customer(&app, "regular").await;
    let (c, csrf) = member(&app, "cashier", &[Role::Billing]).await;
    let id = customer.to_string();
    let adjust = |amount: &'static str, reason: &'static str| {
        [("customer", id.clone()), ("amount", amount.into()), ("reason", reason.into()), ("csrf", csrf.clone())]
    };
    let r = c.post(app.url("/staff/balance")).form(&adjust("12.50", "goodwill credit")).send().await.unwrap();
    assert_eq!(r.headers()["location"], format!("/staff/balance?customer={customer}&done=1").as_str());
    let r = c.post(app.url("/staff/balance")).form(&adjust("-2.50", "manual correction")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let shown = page(&app, &c, &format!("/staff/balance?customer={customer}&done=1")).await;
    assert!(shown.contains("id=\"balance-done\"") && shown.contains("¥10.00") && shown.contains("goodwill credit"));
    assert_eq!(audited(&app, "billing.balance_adjust", Some("goodwill credit")).await, 1);
    assert_eq!(audited(&app, "billing.balance_adjust", Some("manual correction")).await, 1);
    // Refused: past zero, no reason, an unknown customer.
    let r = c.post(app.url("/staff/balance")).form(&adjust("-10.01", "chargeback")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("余额不足"));
    let r = c.post(app.url("/staff/balance")).form(&adjust("1", "")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let unknown = [("customer", "999999"), ("amount", "1"), ("reason", "goodwill credit"), ("csrf", &csrf)];
    let r = c.post(app.url("/staff/balance")).form(&unknown).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("没有此编号的客户"));
    // Amounts that are not yuan with at most two decimals, on every money form.
    let ledger = count(&app, "SELECT COUNT(*) FROM ledger").await;
    for bad in ["abc", "1.001", ""] {
        let r = c.post(app.url("/staff/balance")).form(&adjust(bad, "goodwill credit")).send().await.unwrap();
        assert_eq!(r.status(), 422, "{bad:?}");
        let body = r.text().await.unwrap();
        assert!(body.contains("id=\"adjust-error\"") && body.contains("最多两位小数"), "{bad:?}");
        for path in [
            format!("/staff/invoices/{invoice}/refund"),
            format!("/staff/invoices/{invoice}/payments/{payment}/refund"),
        ] {
            let form = [("amount", bad), ("reason", "late delivery"), ("csrf", &csrf)];
            let (status, body) = post(&app, &c, &path, &form).await;
            assert_eq!(status, 422, "{path} {bad:?}");
            assert!(body.contains("最多两位小数"), "{path} {bad:?}");
        }
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM ledger").await, ledger, "nothing moved");
    assert_eq!(count(&app, "SELECT CAST(COALESCE(SUM(refunded_fen), 0) AS BIGINT) FROM invoices").await, 0);
    assert_eq!(count(&app, "SELECT CAST(COALESCE(SUM(refunded_fen), 0) AS BIGINT) FROM payments").await, 0);
    // The English page says it in English.
    let r = c.post(app.url("/staff/balance")).header("accept-language", "en").form(&adjust("abc", "goodwill credit"));
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("at most two decimals"));
});

db_test!(billing_staff_pages_need_the_role_and_the_form_token, |app| {
    let (customer, _) = signed_in_customer(&app, "regular").await;
    let (support, support_csrf) = member(&app, "helper", &[Role::Support]).await;
    let home = page(&app, &support, "/staff").await;
    assert!(!home.contains("href=\"/staff/invoices\"") && !home.contains("href=\"/staff/catalog\""));
    for path in ["/staff/invoices", "/staff/invoices/1", "/staff/callbacks", "/staff/balance", "/staff/catalog"] {
        assert_eq!(support.get(app.url(path)).send().await.unwrap().status(), 403, "support: {path}");
    }
    let id = customer.to_string();
    let form = [("customer", id.as_str()), ("amount", "5"), ("reason", "goodwill credit"), ("csrf", &support_csrf)];
    assert_eq!(post(&app, &support, "/staff/balance", &form).await.0, 403, "support may not adjust");
    let plan = [("code", "x1"), ("csrf", support_csrf.as_str())];
    assert_eq!(post(&app, &support, "/staff/catalog/plans", &plan).await.0, 403);
    // A billing member's forms without the token, with a forged one, with another session's.
    let (c, _) = member(&app, "cashier", &[Role::Billing]).await;
    let home = page(&app, &c, "/staff").await;
    assert!(home.contains("href=\"/staff/invoices\"") && home.contains("href=\"/staff/catalog\""));
    for token in [None, Some("forged"), Some(support_csrf.as_str())] {
        let mut form = vec![("customer", id.as_str()), ("amount", "5"), ("reason", "goodwill credit")];
        form.extend(token.map(|t| ("csrf", t)));
        assert_eq!(post(&app, &c, "/staff/balance", &form).await.0, 403, "{token:?}");
        assert_eq!(post(&app, &c, "/staff/catalog/coupons", &form).await.0, 403, "{token:?}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM ledger").await, 0, "nothing moved");
});

db_test!(catalog_staff_create_a_plan_price_stock_and_coupon_seen_in_the_shop, |app| {
    let (c, csrf) = member(&app, "shopkeeper", &[Role::Billing]).await;
    assert!(page(&app, &c, "/staff/catalog").await.contains("id=\"plan-form\""));
    let plan = [
        ("code", "m8"),
        ("name_zh", "测试型 8核16G"),
        ("name_en", "Test 8 vCPU 16 GB"),
        ("vcpu", "8"),
        ("memory_mb", "16384"),
        ("disk_gb", "200"),
        ("bandwidth_mbps", "100"),
        ("traffic_gb", "0"),
        ("os_images", "debian-12, rocky-9"),
        ("sort_order", "5"),
        ("active", "on"),
        ("csrf", &csrf),
    ];
    assert_eq!(post(&app, &c, "/staff/catalog/plans", &plan).await, (303, "/staff/catalog?done=plan".into()));
    let id = count(&app, "SELECT id FROM plans WHERE code = 'm8'").await;
    assert!(!page(&app, &app.client, "/servers").await.contains("测试型 8核16G"), "not on sale without a price");
    let region = count(&app, "SELECT id FROM regions WHERE code = 'hk-tko'").await.to_string();
    let price = [("cycle", "monthly"), ("amount", "99.90"), ("csrf", &csrf)];
    assert_eq!(post(&app, &c, &format!("/staff/catalog/plans/{id}/price"), &price).await.0, 303);
    let stock = [("region", region.as_str()), ("available", "7"), ("csrf", &csrf)];
    assert_eq!(post(&app, &c, &format!("/staff/catalog/plans/{id}/stock"), &stock).await.0, 303);
    let shop = page(&app, &app.client, "/servers").await;
    assert!(shop.contains("测试型 8核16G") && shop.contains("¥99.90") && shop.contains("香港 将军澳"));
    assert!(page(&app, &c, &format!("/staff/catalog?edit={id}")).await.contains("value=\"m8\""), "edit form filled");
    // Refused input, next to its form; nothing changes.
    for bad in ["abc", "1.001"] {
        let price = [("cycle", "monthly"), ("amount", bad), ("csrf", &csrf)];
        let (status, body) = post(&app, &c, &format!("/staff/catalog/plans/{id}/price"), &price).await;
        assert_eq!(status, 422, "{bad}");
        assert!(body.contains(&format!("id=\"plan-{id}-error\"")) && body.contains("最多两位小数"));
    }
    let stock = [("region", region.as_str()), ("available", "-1"), ("csrf", &csrf)];
    assert_eq!(post(&app, &c, &format!("/staff/catalog/plans/{id}/stock"), &stock).await.0, 422);
    let mut wrong = plan.to_vec();
    wrong[3] = ("vcpu", "eight");
    let (status, body) = post(&app, &c, "/staff/catalog/plans", &wrong).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"plan-error\"") && body.contains("value=\"eight\""), "typed values kept");
    assert_eq!(count(&app, &format!("SELECT price_fen FROM plan_prices WHERE plan_id = {id}")).await, 9990);
    assert_eq!(count(&app, &format!("SELECT vcpu FROM plans WHERE id = {id}")).await, 8);
    // A coupon for January in the business time zone (Asia/Shanghai), the last day included.
    let coupon = [
        ("code", "spring15"),
        ("kind", "percent"),
        ("value", "15"),
        ("valid_from", "2026-01-01"),
        ("valid_until", "2026-01-31"),
        ("max_uses", ""),
        ("per_account", "1"),
        ("csrf", &csrf),
    ];
    assert_eq!(post(&app, &c, "/staff/catalog/coupons", &coupon).await.0, 303);
    let start = jiff::civil::date(2026, 1, 1).to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap()).unwrap();
    let from = start.timestamp().as_millisecond();
    assert_eq!(count(&app, "SELECT valid_from FROM coupons WHERE code = 'SPRING15'").await, from);
    assert_eq!(count(&app, "SELECT valid_until FROM coupons WHERE code = 'SPRING15'").await, from + 31 * 86_400_000);
    let (status, body) = post(&app, &c, "/staff/catalog/coupons", &coupon).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"coupon-error\"") && body.contains("已有相同代码"), "the taken code is refused");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM coupons").await, 1);
    let listed = page(&app, &c, "/staff/catalog").await;
    assert!(listed.contains("id=\"coupon-list\"") && listed.contains("SPRING15") && listed.contains("15%"));
    for action in ["catalog.plan_save", "catalog.price_set", "catalog.stock_set", "billing.coupon_create"] {
        assert!(audited(&app, action, None).await >= 1, "{action}");
    }
    // An empty price withdraws the cycle: the plan leaves the shop.
    let withdraw = [("cycle", "monthly"), ("amount", ""), ("csrf", &csrf)];
    assert_eq!(post(&app, &c, &format!("/staff/catalog/plans/{id}/price"), &withdraw).await.0, 303);
    assert!(!page(&app, &app.client, "/servers").await.contains("测试型 8核16G"));
});
