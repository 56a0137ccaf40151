//! The cart: several servers on one invoice, their coupon, stock and cancellation; limits,
//! another customer's items, racing checkouts; and the migration that gave invoices lines.

use std::time::Duration;

use lantian_core::authz::{Principal, Role};
use lantian_core::db::{Access, Db, DbKind};
use lantian_core::{billing, on_read, on_tx};

use crate::helpers::{T0, TestApp, count, create_staff, pg_base_url, signed_in_customer, test_config, with_database};

async fn ids(app: &TestApp, plan: &str, region: &str) -> (String, String) {
    let p = count(app, &format!("SELECT id FROM plans WHERE code = '{plan}'")).await;
    let r = count(app, &format!("SELECT id FROM regions WHERE code = '{region}'")).await;
    (p.to_string(), r.to_string())
}

/// Puts a server in the cart from the checkout page's "add to cart" button.
async fn add(app: &TestApp, c: &reqwest::Client, plan: &str, region: &str, cycle: &str) -> reqwest::Response {
    let (p, r) = ids(app, plan, region).await;
    let form = [("plan", p.as_str()), ("region", &r), ("cycle", cycle), ("os_image", "debian-12")];
    c.post(app.url("/account/cart")).form(&form).send().await.unwrap()
}

async fn checkout(app: &TestApp, c: &reqwest::Client, coupon: &str) -> reqwest::Response {
    c.post(app.url("/account/cart/checkout")).form(&[("coupon", coupon)]).send().await.unwrap()
}

fn invoice_of(r: &reqwest::Response) -> i64 {
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().parse().unwrap()
}

async fn stock(app: &TestApp, plan: &str) -> i64 {
    let sql = format!(
        "SELECT available FROM plan_stock s JOIN plans p ON p.id = s.plan_id JOIN regions r ON r.id = s.region_id \
         WHERE p.code = '{plan}' AND r.code = 'hk-tko'"
    );
    count(app, &sql).await
}

async fn spring_coupon(app: &TestApp, kind: &str, value: i64) {
    let staff =
        Principal::Staff { id: create_staff(app, "shopkeeper", &[Role::Admin]).await.0, roles: vec![Role::Admin] };
    let input = billing::CouponInput {
        code: "SPRING".into(),
        kind: kind.into(),
        value,
        valid_from: T0,
        valid_until: T0.plus(Duration::from_secs(86_400)),
        max_uses: Some(10),
        per_account: 1,
    };
    billing::create_coupon(&app.core, &staff, &input, T0).await.unwrap();
}

db_test!(a_cart_of_two_servers_is_one_invoice_paid_and_cancelled_as_one, |app| {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    spring_coupon(&app, "percent", 10).await;
    let (customer, c) = signed_in_customer(&app, "cart_buyer").await;
    assert_eq!(add(&app, &c, "s1", "hk-tko", "monthly").await.status(), 303);
    assert_eq!(add(&app, &c, "s2", "hk-tko", "quarterly").await.status(), 303);
    let page = c.get(app.url("/account/cart")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("入门型") && page.contains("3 个月"), "both items listed");
    let (s1_before, s2_before) = (stock(&app, "s1").await, stock(&app, "s2").await);

    let invoice = invoice_of(&checkout(&app, &c, "spring").await);
    let lines = billing::lines(&app.core.db, invoice).await.unwrap();
    assert_eq!(lines.len(), 2, "one invoice, a line per server");
    let total: i64 = lines.iter().map(|l| l.amount_fen).sum();
    let i = billing::invoice_of(&app.core.db, customer, invoice).await.unwrap();
    assert_eq!((i.amount_fen, i.kind.as_str()), (total, "services"));
    assert!(lines.iter().all(|l| l.discount_fen == l.price_fen / 10), "10% off each line");
    assert_eq!(count(&app, "SELECT used FROM coupons").await, 1, "one use for the checkout");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cart_items").await, 0, "the cart is empty");
    assert_eq!((stock(&app, "s1").await, stock(&app, "s2").await), (s1_before - 1, s2_before - 1));
    let detail = c.get(app.url(&format!("/account/invoices/{invoice}"))).send().await.unwrap().text().await.unwrap();
    assert!(detail.contains("id=\"invoice-lines\"") && detail.matches("debian-12").count() >= 2);
    assert!(i.item_zh.ends_with("等 2 项"), "{}", i.item_zh);

    let r = c.post(app.url(&format!("/account/invoices/{invoice}/cancel"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders WHERE state = 'cancelled'").await, 2);
    assert_eq!((stock(&app, "s1").await, stock(&app, "s2").await), (s1_before, s2_before), "stock back");
    assert_eq!(count(&app, "SELECT used FROM coupons").await, 0, "the coupon use back");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM coupon_uses").await, 0);

    // Again, paid from the balance: both orders are paid with the invoice.
    let staff =
        Principal::Staff { id: create_staff(&app, "cashier", &[Role::Admin]).await.0, roles: vec![Role::Admin] };
    billing::adjust_balance(&app.core, &staff, customer, 100_000, "test credit", T0).await.unwrap();
    add(&app, &c, "s1", "hk-tko", "monthly").await;
    add(&app, &c, "s1", "hk-tko", "annual").await;
    let invoice = invoice_of(&checkout(&app, &c, "").await);
    let r = c
        .post(app.url(&format!("/account/invoices/{invoice}/pay")))
        .form(&[("method", "balance")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let paid = format!(
        "SELECT COUNT(*) FROM orders o JOIN invoice_lines l ON l.order_id = o.id WHERE l.invoice_id = {invoice} AND o.state = 'paid'"
    );
    assert_eq!(count(&app, &paid).await, 2);
    let (account, balance) = billing::account(&app.core.db, customer).await.unwrap().unwrap();
    assert_eq!(billing::ledger_sum(&app.core.db, &account).await.unwrap(), balance);
});

db_test!(the_cart_refuses_what_it_cannot_sell_and_keeps_to_its_owner, |app| {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    let (_, c) = signed_in_customer(&app, "cart_limits").await;
    assert_eq!(checkout(&app, &c, "").await.status(), 422, "an empty cart");
    assert_eq!(add(&app, &c, "s1", "hk-tko", "weekly").await.status(), 422);
    for _ in 0..billing::MAX_ITEMS {
        assert_eq!(add(&app, &c, "s1", "hk-tko", "monthly").await.status(), 303);
    }
    let full = add(&app, &c, "s1", "hk-tko", "monthly").await;
    assert_eq!(full.status(), 422);
    assert!(full.text().await.unwrap().contains("最多放 10 台"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cart_items").await, 10);

    // Another customer can neither see nor remove the items.
    let (_, other) = signed_in_customer(&app, "cart_other").await;
    let item = count(&app, "SELECT MIN(id) FROM cart_items").await;
    let r = other.post(app.url(&format!("/account/cart/{item}/remove"))).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(other.get(app.url("/account/cart")).send().await.unwrap().text().await.unwrap().contains("cart-empty"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cart_items").await, 10);
    assert_eq!(c.post(app.url(&format!("/account/cart/{item}/remove"))).send().await.unwrap().status(), 303);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cart_items").await, 9);

    // A mainland server without a verified real name: refused, nothing bought, the cart kept.
    add(&app, &c, "s1", "cn-sh", "monthly").await;
    let r = checkout(&app, &c, "").await;
    assert_eq!(r.status(), 303, "sent to real-name verification");
    assert_eq!(r.headers()["location"], "/account/real-name");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM cart_items").await, 10);
});

db_test!(two_checkouts_of_one_cart_racing_issue_one_invoice, |app| {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    let (_, c) = signed_in_customer(&app, "cart_racer").await;
    add(&app, &c, "s1", "hk-tko", "monthly").await;
    add(&app, &c, "s2", "hk-tko", "monthly").await;
    let before = stock(&app, "s1").await;
    let runs: Vec<_> = (0..6).map(|_| checkout(&app, &c, "")).collect();
    let statuses: Vec<u16> = futures::future::join_all(runs).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 303 || *s == 422), "{statuses:?}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invoices").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 2);
    assert_eq!(stock(&app, "s1").await, before - 1, "the losers gave their stock back");
});

/// An invoice issued before invoices had lines keeps its order as its one line.
#[tokio::test]
async fn invoices_issued_before_the_cart_become_invoices_of_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![(DbKind::Sqlite, format!("sqlite://{}", dir.path().join("old.db").display()))];
    if let Some(base) = pg_base_url() {
        // Not from the test template: that one is migrated already.
        let name = format!("lantian_m_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&pool).await.unwrap();
        urls.push((DbKind::Postgres, with_database(&base, &name)));
    }
    for (kind, url) in urls {
        let db = Db::open(&test_config(&url).database, Access::Exclusive).await.unwrap();
        let (lite, pg) = (sqlx::migrate!("../../migrations/sqlite"), sqlx::migrate!("../../migrations/postgres"));
        match &db {
            Db::Sqlite(s) => lite.run_to(6, &s.writer).await.unwrap(),
            Db::Pg(p) => pg.run_to(6, p).await.unwrap(),
        }
        let mut tx = db.begin().await.unwrap();
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO billing_accounts (id, balance_fen, created_at) VALUES ('AOLD', 0, 0)").execute(&mut *c).await.unwrap().rows_affected());
        for (kind, state) in [("new", "paid"), ("top_up", "pending")] {
            let order: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO orders (account_id, kind, months, discount_fen, amount_fen, state, created_at) VALUES ('AOLD', $1, 1, 0, 2900, $2, 0) RETURNING id").bind(kind).bind(state).fetch_one(c).await.unwrap());
            on_tx!(&mut tx, c => sqlx::query("INSERT INTO invoices (number, order_id, account_id, buyer_username, item_zh, item_en, price_fen, discount_fen, amount_fen, state, issued_at) VALUES ($1, $2, 'AOLD', 'old', '旧', 'old', 2900, 0, 2900, 'unpaid', 0)").bind(format!("OLD-{kind}")).bind(order).execute(c).await.unwrap().rows_affected());
        }
        tx.commit().await.unwrap();
        lantian_core::db::migrate(&db).await.unwrap();
        let kinds: Vec<(String, String, i64)> = on_read!(&db, c => sqlx::query_as("SELECT i.number, i.kind, l.amount_fen FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id ORDER BY i.id").fetch_all(c).await.unwrap());
        let expected = [("OLD-new".into(), "services".into(), 2900), ("OLD-top_up".into(), "top_up".into(), 2900)];
        assert_eq!(kinds, expected, "{kind:?}");
        if let Db::Sqlite(s) = &db {
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&s.writer).await.unwrap();
            assert_eq!(fk, 1, "foreign keys are on again after the rebuild");
            let broken: Vec<sqlx::sqlite::SqliteRow> =
                sqlx::query("PRAGMA foreign_key_check").fetch_all(&s.writer).await.unwrap();
            assert!(broken.is_empty(), "no dangling reference after the rebuild");
        }
        db.close().await;
        if kind == DbKind::Postgres {
            let (base, name) = (pg_base_url().unwrap(), url.rsplit('/').next().unwrap().to_string());
            let pool = sqlx::PgPool::connect(&base).await.unwrap();
            let drop = format!("DROP DATABASE \"{name}\" WITH (FORCE)");
            sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await.unwrap();
        }
    }
}
