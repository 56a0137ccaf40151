//! A server's life in a real browser: a customer buys one and pays from the balance, the
//! worker creates it and its page shows it running with its address; a month later, unpaid, it
//! is suspended and the power buttons are gone; the customer renews, pays the renewal invoice
//! and the server runs again. Then a member of staff suspends it from the console with a
//! reason, and the customer's page says so.

use fantoccini::{Client, Locator};
use lantian_core::authz::{Principal, Role};
use lantian_core::billing;
use lantian_core::db::DbKind;

use crate::browser::browser;
use crate::helpers::{
    CUSTOMER_PASSWORD, STAFF_PASSWORD, TestApp, count, create_staff, first_sign_in, spawn_app, verified_customer,
};
use crate::provisioning::{catalog, run_provisioning};
use crate::services_pages::{credit_for, overdue};

async fn click(c: &Client, css: &str) {
    c.wait().for_element(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.wait().for_element(Locator::Css(css)).await.unwrap().send_keys(text).await.unwrap();
}

/// Waits until the element `id` says `text` (after a click, the old page may still be there
/// for a moment).
async fn shows(c: &Client, id: &str, text: &str) {
    let xpath = format!("//*[@id='{id}' and normalize-space()='{text}']");
    c.wait().for_element(Locator::XPath(&xpath)).await.unwrap();
}

async fn log_in(app: &TestApp, c: &Client, username: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "#login", username).await;
    fill(c, "#password", CUSTOMER_PASSWORD).await;
    click(c, "main form button[type=submit]").await;
    c.wait().for_element(Locator::Css("#devices")).await.unwrap();
}

/// Opens the customer's only server from the account menu.
async fn open_server(app: &TestApp, c: &Client, id: i64) {
    c.goto(&app.url("/account")).await.unwrap();
    click(c, "nav a[href='/account/services']").await;
    click(c, &format!("#service-{id} a")).await;
    c.wait().for_element(Locator::Css("#service-state")).await.unwrap();
}

async fn sign_out(c: &Client, form: &str, landing: &str) {
    click(c, &format!("form[action='{form}'] button")).await;
    for _ in 0..100 {
        if c.current_url().await.unwrap().path() == landing {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not signed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_customer_renews_a_suspended_server_and_staff_suspend_it() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let Some((c, _driver, _profile)) = browser().await else { return };
    catalog(&app).await;
    let customer = verified_customer(&app, "laowang").await;
    let (cashier, _) = create_staff(&app, "cashier", &[Role::Billing]).await;
    let cashier = Principal::Staff { id: cashier, roles: vec![Role::Billing] };
    billing::adjust_balance(&app.core, &cashier, customer, 2900, "prepaid by transfer", app.core.now()).await.unwrap();

    // 1. Bought in Hong Kong (Tseung Kwan O), paid from the balance, created by the worker.
    log_in(&app, &c, "laowang").await;
    let region = count(&app, "SELECT id FROM regions WHERE code = 'hk-tko'").await.to_string();
    c.goto(&app.url("/servers")).await.unwrap();
    click(&c, "#plans section:first-child a.button").await;
    c.wait().for_element(Locator::Css("select[name=region]")).await.unwrap().select_by_value(&region).await.unwrap();
    click(&c, "#buy-now").await;
    shows(&c, "invoice-state", "未支付").await;
    click(&c, "#pay-balance").await;
    shows(&c, "invoice-state", "已支付").await;
    let id = count(&app, "SELECT id FROM services").await;
    run_provisioning(&app).await;
    open_server(&app, &c, id).await;
    shows(&c, "service-state", "运行中").await;
    let ip = c.find(Locator::Css("#service-ip")).await.unwrap().text().await.unwrap();
    assert!(ip.starts_with("203.0.113."), "{ip}");
    c.find(Locator::Css("#power-reboot")).await.unwrap();

    // 2. A month on, unpaid: suspended, and no power buttons.
    overdue(&app).await;
    log_in(&app, &c, "laowang").await;
    open_server(&app, &c, id).await;
    shows(&c, "service-state", "已暂停：请支付续费账单").await;
    assert!(c.find(Locator::Css("#power")).await.is_err(), "no power actions while suspended");

    // 3. Renewed: the renewal invoice, paid from the balance; the worker brings it back.
    click(&c, "#renew-submit").await;
    shows(&c, "invoice-state", "未支付").await;
    let url = c.current_url().await.unwrap();
    let invoice: i64 = url.path().trim_start_matches("/account/invoices/").parse().unwrap();
    credit_for(&app, customer, invoice).await;
    c.refresh().await.unwrap();
    click(&c, "#pay-balance").await;
    shows(&c, "invoice-state", "已支付").await;
    run_provisioning(&app).await;
    open_server(&app, &c, id).await;
    shows(&c, "service-state", "运行中").await;
    c.find(Locator::Css("#power-reboot")).await.unwrap();
    sign_out(&c, "/logout", "/").await;

    // 4. Staff suspend it from the console, with a reason.
    let (_, one_time) = create_staff(&app, "yunwei", &[Role::Admin]).await;
    let secret = first_sign_in(&app, &app.new_client(), "yunwei", &one_time).await;
    app.clock.advance(std::time::Duration::from_secs(30));
    c.goto(&app.url("/staff/login")).await.unwrap();
    fill(&c, "#username", "yunwei").await;
    fill(&c, "#password", STAFF_PASSWORD).await;
    click(&c, "form button[type=submit]").await;
    fill(&c, "#code", &lantian_core::totp::code_at(&secret, app.core.now()).unwrap()).await;
    click(&c, "form button[type=submit]").await;
    c.wait().for_element(Locator::Css("nav a[href='/staff/services']")).await.unwrap();
    c.goto(&app.url(&format!("/staff/services/{id}"))).await.unwrap();
    fill(&c, "#order-reason", "滥用投诉 #12").await;
    click(&c, "#order-suspend").await;
    c.wait().for_element(Locator::Css("#service-done")).await.unwrap();
    sign_out(&c, "/staff/logout", "/staff/login").await;
    run_provisioning(&app).await;

    log_in(&app, &c, "laowang").await;
    open_server(&app, &c, id).await;
    shows(&c, "service-state", "已暂停：请联系客服").await;
    assert!(c.find(Locator::Css("#power")).await.is_err());
    c.close().await.unwrap();
}
