//! The purchase journey in a real browser: a customer buys a Hong Kong server and pays it by
//! QR code in the gateway's sandbox cashier, tops up the balance through the cashier's
//! redirect, pays a second server from the balance, and sees both invoices paid and the
//! ledger right.

use fantoccini::{Client, Locator};
use lantian_core::db::DbKind;
use lantian_core::on_read;

use crate::browser::browser;
use crate::helpers::{CUSTOMER_PASSWORD, T0, TestApp, spawn_app, verified_customer};

async fn click(c: &Client, css: &str) {
    c.wait().for_element(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.wait().for_element(Locator::Css(css)).await.unwrap().text().await.unwrap()
}

/// Configures the starter plan in the first region offered (Hong Kong) from the server list,
/// then presses `button` (buy now, or add to cart).
async fn configure_a_server(app: &TestApp, c: &Client, button: &str) {
    c.goto(&app.url("/servers")).await.unwrap();
    click(c, "#plans section:first-child a.button").await;
    let regions = text(c, "select[name=region]").await;
    assert!(regions.starts_with("香港"), "{regions}");
    click(c, button).await;
}

/// Waits until the page shown is an invoice in `state` (after a click, the old page may
/// still be there for a moment).
async fn invoice_shows(c: &Client, state: &str) {
    let xpath = format!("//*[@id='invoice-state' and normalize-space()='{state}']");
    c.wait().for_element(Locator::XPath(&xpath)).await.unwrap();
}

/// Pays on the fake gateway's cashier page, which sends the browser back to us.
async fn pay_in_cashier(c: &Client) {
    click(c, "form[action$='/pay'] button").await;
    invoice_shows(c, "已支付").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_customer_buys_a_server_and_pays_by_qr_redirect_and_balance() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let Some((c, _driver, _profile)) = browser().await else { return };
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    verified_customer(&app, "xiaoming").await;
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::Css("#login")).await.unwrap().send_keys("xiaoming").await.unwrap();
    c.find(Locator::Css("#password")).await.unwrap().send_keys(CUSTOMER_PASSWORD).await.unwrap();
    click(&c, "main form button[type=submit]").await;
    c.wait().for_element(Locator::Css("#devices")).await.unwrap();

    // 1. A server, paid by scanning: the QR code on our page opens the sandbox cashier.
    configure_a_server(&app, &c, "#buy-now").await;
    invoice_shows(&c, "未支付").await;
    let invoice_page = c.current_url().await.unwrap();
    click(&c, "#pay-alipay-qr").await;
    c.wait().for_element(Locator::Css("#qr svg")).await.unwrap();
    let waiting = c.current_url().await.unwrap();
    let qr: String = on_read!(&app.core.db, db => sqlx::query_scalar("SELECT qr_content FROM payments").fetch_one(db).await.unwrap());
    c.goto(&qr).await.unwrap();
    pay_in_cashier(&c).await;
    // The waiting page goes to the paid invoice.
    c.goto(waiting.as_str()).await.unwrap();
    invoice_shows(&c, "已支付").await;

    // 2. A top-up of 100 yuan, paid on the cashier page the browser is redirected to.
    c.goto(&app.url("/account/balance")).await.unwrap();
    c.find(Locator::Css("#top-up input[name=amount]")).await.unwrap().send_keys("100").await.unwrap();
    click(&c, "#top-up button").await;
    click(&c, "#pay-wxpay-redirect").await;
    let cashier = c.current_url().await.unwrap();
    assert!(cashier.as_str().starts_with(&app.epay.base_url()), "{cashier}");
    pay_in_cashier(&c).await;

    // 3. A second server, through the cart, paid from the balance.
    configure_a_server(&app, &c, "#add-to-cart").await;
    assert_eq!(text(&c, "#cart-total").await, "¥29.00");
    click(&c, "#cart-checkout button").await;
    invoice_shows(&c, "未支付").await;
    click(&c, "#pay-balance").await;
    invoice_shows(&c, "已支付").await;

    c.goto(&app.url("/account/balance")).await.unwrap();
    assert_eq!(text(&c, "#balance").await, "¥71.00");
    let ledger = text(&c, "#ledger").await;
    assert!(ledger.contains("+¥100.00") && ledger.contains("-¥29.00"), "{ledger}");
    c.goto(&app.url("/account/invoices")).await.unwrap();
    let invoices = text(&c, "#invoices").await;
    assert_eq!(invoices.matches("已支付").count(), 3, "{invoices}");
    assert!(invoices.contains("LT-2026-000001"));
    c.goto(invoice_page.as_str()).await.unwrap();
    assert!(text(&c, "#payments").await.contains("支付宝"));
    c.close().await.unwrap();
}
