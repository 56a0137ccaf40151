//! The billing part of the JSON API with a customer's personal access token: plans, orders,
//! invoices, gateway and balance payments, the balance; and what it refuses: staff tokens,
//! another customer's ids, bad bodies.

use lantian_core::accounts;
use lantian_core::apitokens::{self, Scope};
use lantian_core::authz::{Principal, Role, Subject};
use lantian_core::billing;
use serde_json::{Value, json};

use crate::helpers::{T0, TestApp, count, create_staff, signed_in_customer, text_of};

/// A customer with a verified e-mail and a token made on their tokens page (`write`: with the
/// write scope).
pub(crate) async fn customer_token(app: &TestApp, username: &str, write: bool) -> (i64, String) {
    let (id, c) = signed_in_customer(app, username).await;
    let mut form = vec![("name", "api script"), ("days", "30")];
    if write {
        form.push(("write", "on"));
    }
    let page = c.post(app.url("/account/tokens")).form(&form).send().await.unwrap().text().await.unwrap();
    (id, text_of(&page, "new-token").expect("the token is shown once"))
}

pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

pub(crate) async fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(token).json(body).send().await.unwrap()
}

pub(crate) async fn json_of(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}

async fn seeded(app: &TestApp) -> (i64, i64) {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    let plan = count(app, "SELECT id FROM plans WHERE code = 's1'").await;
    (plan, count(app, "SELECT id FROM regions WHERE code = 'hk-tko'").await)
}

/// `s1` in Hong Kong, monthly (29.00 yuan): the new invoice's id.
async fn order(app: &TestApp, token: &str, (plan, region): (i64, i64)) -> i64 {
    let r = post(app, token, "/api/v1/orders", &order_body(plan, region)).await;
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let placed = json_of(r, 201).await;
    assert_eq!(placed["amount_fen"], 2900);
    let invoice = placed["invoice_id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/invoices/{invoice}"));
    invoice
}

/// One `s1` monthly with Debian in the region.
fn order_body(plan: i64, region: i64) -> Value {
    json!({"items": [{"plan_id": plan, "region_id": region, "cycle": "monthly", "os_image": "debian-12"}]})
}

fn pay_body(method: &str, mode: &str) -> Value {
    json!({"method": method, "mode": mode})
}

db_test!(a_customer_orders_and_pays_with_a_personal_access_token, |app| {
    let ids = seeded(&app).await;
    let plans = json_of(app.get("/api/v1/catalog/plans").await, 200).await;
    let s1 = plans["items"].as_array().unwrap().iter().find(|p| p["code"] == "s1").unwrap();
    assert_eq!((s1["id"].as_i64(), s1["vcpu"].as_i64()), (Some(ids.0), Some(1)), "public, no token");
    assert!(s1["prices"].as_array().unwrap().contains(&json!({"cycle": "monthly", "price_fen": 2900})));
    assert!(s1["os_images"].as_array().unwrap().contains(&json!("debian-12")));
    let hk = s1["regions"].as_array().unwrap().iter().find(|r| r["region_code"] == "hk-tko").unwrap();
    assert_eq!((hk["region_id"].as_i64(), hk["available"].as_i64()), (Some(ids.1), Some(50)));

    let (id, token) = customer_token(&app, "api_buyer", true).await;
    let (qr_inv, redirect_inv, balance_inv) =
        (order(&app, &token, ids).await, order(&app, &token, ids).await, order(&app, &token, ids).await);
    let list = json_of(get(&app, &token, "/api/v1/invoices").await, 200).await;
    let listed: Vec<i64> = list["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, [balance_inv, redirect_inv, qr_inv], "newest first");
    assert!(list["next_before"].is_null());
    let older = json_of(get(&app, &token, &format!("/api/v1/invoices?before={redirect_inv}")).await, 200).await;
    assert_eq!(older["items"].as_array().unwrap().len(), 1, "keyset pages by `before`");
    assert_eq!(
        (list["items"][0]["state"].as_str(), list["items"][0]["amount_fen"].as_i64()),
        (Some("unpaid"), Some(2900))
    );

    // A QR payment is created at the gateway; a redirect is the signed cashier address.
    let r = post(&app, &token, &format!("/api/v1/invoices/{qr_inv}/payments"), &pay_body("alipay", "qr")).await;
    let started = json_of(r, 201).await;
    assert!(!started["qr_content"].as_str().unwrap().is_empty() && started.get("redirect_url").is_none());
    let created = app.epay.requests().into_iter().find(|r| r.endpoint == "mapi.php").unwrap();
    assert_eq!((created.fields["type"].as_str(), created.fields["money"].as_str()), ("alipay", "29.00"));
    let detail = json_of(get(&app, &token, &format!("/api/v1/invoices/{qr_inv}")).await, 200).await;
    assert_eq!(detail["number"], "LT-2026-000001");
    assert_eq!(detail["payments"][0]["id"], started["payment_id"]);
    assert_eq!(detail["payments"][0]["out_trade_no"].as_str(), Some(created.fields["out_trade_no"].as_str()));
    let r =
        post(&app, &token, &format!("/api/v1/invoices/{redirect_inv}/payments"), &pay_body("wxpay", "redirect")).await;
    let started = json_of(r, 201).await;
    let url = started["redirect_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}submit.php?", app.epay.base_url())), "{url}");
    app.new_client().get(url).send().await.unwrap();
    let submitted = app.epay.requests().into_iter().find(|r| r.endpoint == "submit.php").unwrap();
    assert_eq!((submitted.fields["type"].as_str(), submitted.fields["money"].as_str()), ("wxpay", "29.00"));

    // The balance pays only once staff credited it, and never twice.
    let pay_balance = json!({"method": "balance"});
    let path = format!("/api/v1/invoices/{balance_inv}/payments");
    assert_eq!(json_of(post(&app, &token, &path, &pay_balance).await, 422).await["field"], "amount");
    let cashier = create_staff(&app, "cashier", &[Role::Billing]).await.0;
    let staff = Principal::Staff { id: cashier, roles: vec![Role::Billing] };
    billing::adjust_balance(&app.core, &staff, id, 10_000, "goodwill credit", app.core.now()).await.unwrap();
    assert_eq!(json_of(post(&app, &token, &path, &pay_balance).await, 200).await, json!({"state": "paid"}));
    assert_eq!(post(&app, &token, &path, &pay_balance).await.status(), 409);
    let balance = json_of(get(&app, &token, "/api/v1/balance").await, 200).await;
    assert_eq!(balance["balance_fen"], 7100);
    assert_eq!(
        (balance["ledger"][0]["amount_fen"].as_i64(), balance["ledger"][0]["invoice_id"].as_i64()),
        (Some(-2900), Some(balance_inv))
    );
    assert_eq!(
        (balance["ledger"][1]["kind"].as_str(), balance["ledger"][1]["reason"].as_str()),
        (Some("adjustment"), Some("goodwill credit"))
    );
    let last = balance["ledger"][0]["id"].as_i64().unwrap();
    let older = json_of(get(&app, &token, &format!("/api/v1/balance?before={last}")).await, 200).await;
    assert_eq!((older["balance_fen"].as_i64(), older["ledger"].as_array().unwrap().len()), (Some(7100), 1));
    let paid = json_of(get(&app, &token, &format!("/api/v1/invoices/{balance_inv}")).await, 200).await;
    assert_eq!((paid["state"].as_str(), paid["paid_via"].as_str()), (Some("paid"), Some("balance")));

    let r = post(&app, &token, &format!("/api/v1/invoices/{redirect_inv}/cancel"), &json!({})).await;
    assert_eq!(json_of(r, 200).await, json!({"state": "cancelled"}));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invoices WHERE state = 'cancelled'").await, 1);
});

db_test!(staff_and_read_only_tokens_and_no_token_are_refused, |app| {
    let ids = seeded(&app).await;
    let (id, _) = customer_token(&app, "api_reader", true).await;
    let now = app.core.now();
    let (_, read_only) =
        apitokens::create(&app.core, accounts::subject(id), "ro", &[Scope::Read], 1, now).await.unwrap();
    let member = create_staff(&app, "auditor", &[Role::Owner]).await.0;
    let all = [Scope::Read, Scope::Write];
    let (_, staff) = apitokens::create(&app.core, Subject::staff(member), "ops", &all, 1, now).await.unwrap();
    let body = order_body(ids.0, ids.1);
    assert_eq!(post(&app, &read_only, "/api/v1/orders", &body).await.status(), 403, "reading only");
    assert_eq!(get(&app, &read_only, "/api/v1/invoices").await.status(), 200);
    for path in ["/api/v1/invoices", "/api/v1/balance"] {
        assert_eq!(get(&app, &staff, path).await.status(), 403, "{path}");
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let r = post(&app, &staff, "/api/v1/orders", &body).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 0);
});

db_test!(another_customers_invoice_is_not_found_in_every_route, |app| {
    let ids = seeded(&app).await;
    let (_, owner) = customer_token(&app, "api_owner", true).await;
    let inv = order(&app, &owner, ids).await;
    let r = post(&app, &owner, &format!("/api/v1/invoices/{inv}/payments"), &pay_body("alipay", "qr")).await;
    assert_eq!(r.status(), 201);
    let (_, other) = customer_token(&app, "api_other", true).await;
    let r = get(&app, &other, &format!("/api/v1/invoices/{inv}")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    for (path, body) in [
        (format!("/api/v1/invoices/{inv}/payments"), json!({"method": "balance"})),
        (format!("/api/v1/invoices/{inv}/payments"), pay_body("alipay", "qr")),
        (format!("/api/v1/invoices/{inv}/payments"), pay_body("wxpay", "redirect")),
        (format!("/api/v1/invoices/{inv}/cancel"), json!({})),
    ] {
        assert_eq!(post(&app, &other, &path, &body).await.status(), 404, "{path} {body}");
    }
    let theirs = json_of(get(&app, &other, "/api/v1/invoices").await, 200).await;
    assert_eq!(theirs["items"], json!([]));
    assert_eq!(json_of(get(&app, &other, "/api/v1/balance").await, 200).await["balance_fen"], 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payments").await, 1, "only the owner's");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invoices WHERE state = 'unpaid'").await, 1);
});

db_test!(bad_bodies_are_refused_as_problems_and_store_nothing, |app| {
    let (plan, region) = seeded(&app).await;
    let (_, token) = customer_token(&app, "api_sloppy", true).await;
    let good = order_body(plan, region);
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        if k == "coupon" || k == "extra" {
            b[k] = v
        } else {
            b["items"][0][k] = v
        }
        b
    };
    let cases = [
        (with("price_fen", json!(1)), 422, None),
        (with("extra", json!(1)), 422, None),
        (json!({"items": []}), 422, Some("cart")),
        (json!({"items": vec![good["items"][0].clone(); 11]}), 422, Some("items")),
        (with("plan_id", json!("1")), 422, None),
        (with("region_id", json!(1.5)), 422, None),
        (with("coupon", json!(["A"])), 422, None),
        (with("plan_id", json!(-1)), 422, None),
        (with("region_id", json!(-5)), 422, None),
        (with("cycle", json!("weekly")), 422, Some("cycle")),
        (with("os_image", json!("<script>x</script>")), 422, Some("os_image")),
        (json!({"items": [{"plan_id": plan}]}), 422, None),
        (json!([1, 2]), 422, None),
    ];
    for (body, status, field) in cases {
        let r = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&token)
            .header("accept-language", "en")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json", "{body}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["field"].as_str(), field, "{body}");
        assert!(!p["detail"].as_str().unwrap().is_empty() && !p.to_string().contains("<script>"));
        if field == Some("cycle") {
            assert_eq!(p["detail"], "This billing cycle is not offered for the plan.");
        }
    }
    let raw = |body: String, content_type: &'static str| {
        let req = app.client.post(app.url("/api/v1/orders")).bearer_auth(&token).body(body);
        req.header("content-type", content_type).send()
    };
    assert_eq!(raw("{\"items\": ".into(), "application/json").await.unwrap().status(), 400);
    assert_eq!(raw(good.to_string(), "text/plain").await.unwrap().status(), 415);
    let huge = with("os_image", json!("x".repeat(app.core.config.server.body_limit_bytes))).to_string();
    // On a client of its own: the server answers 413 and closes the connection without reading
    // the body, and a pooled connection closed so must not carry the next request.
    let alone = app.new_client().post(app.url("/api/v1/orders")).bearer_auth(&token).body(huge);
    assert_eq!(alone.header("content-type", "application/json").send().await.unwrap().status(), 413);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 0, "nothing stored");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invoices").await, 0);

    let inv = order(&app, &token, (plan, region)).await;
    let path = format!("/api/v1/invoices/{inv}/payments");
    for (body, field) in [
        (json!({"method": "cash", "mode": "qr"}), Some("method")),
        (json!({"method": "alipay"}), Some("mode")),
        (json!({"method": "alipay", "mode": "sms"}), Some("mode")),
        (json!({"method": "balance", "amount_fen": 1}), None),
        (json!({"method": 1}), None),
    ] {
        let r = post(&app, &token, &path, &body).await;
        assert_eq!(json_of(r, 422).await["field"].as_str(), field, "{body}");
    }
    for path in ["/api/v1/invoices/-1", "/api/v1/invoices/abc", "/api/v1/invoices/-1/payments"] {
        let r = if path.ends_with("payments") {
            post(&app, &token, path, &pay_body("alipay", "qr")).await
        } else {
            get(&app, &token, path).await
        };
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    for path in ["/api/v1/invoices?before=-1", "/api/v1/balance?before=-1"] {
        assert_eq!(json_of(get(&app, &token, path).await, 422).await["field"], "before", "{path}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payments").await, 0, "no payment started");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invoices WHERE state = 'unpaid'").await, 1);
});

db_test!(the_openapi_document_lists_the_billing_routes, |app| {
    let doc = json_of(app.get("/api/v1/openapi.json").await, 200).await;
    for (path, method) in [
        ("/api/v1/catalog/plans", "get"),
        ("/api/v1/orders", "post"),
        ("/api/v1/invoices", "get"),
        ("/api/v1/invoices/{id}", "get"),
        ("/api/v1/invoices/{id}/payments", "post"),
        ("/api/v1/invoices/{id}/cancel", "post"),
        ("/api/v1/balance", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} documented");
    }
    assert!(doc["paths"]["/api/v1/catalog/plans"]["get"].get("security").is_none(), "public");
    assert_eq!(doc["paths"]["/api/v1/orders"]["post"]["security"], json!([{"bearer": []}]));
    for schema in [
        "PlanList",
        "OrderRequest",
        "OrderPlaced",
        "InvoicePage",
        "InvoiceDetail",
        "PaymentRequest",
        "PaymentStarted",
        "BalanceOut",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
});
