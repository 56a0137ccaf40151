//! Real-name verification in a real browser: a customer buying a mainland server is sent
//! through the explanation, the consent and the form, and then buys; a customer of 16 uploads a
//! guardian's consent and is held until compliance staff approve it in the console; a child of
//! 15 is turned away with nothing sent.

use fantoccini::{Client, Locator};
use lantian_core::db::DbKind;

use crate::browser::browser;
use crate::helpers::{
    CUSTOMER_PASSWORD, STAFF_PASSWORD, T0, TestApp, count, create_staff, first_sign_in, spawn_app, verified_customer,
};

async fn click(c: &Client, css: &str) {
    c.wait().for_element(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.wait().for_element(Locator::Css(css)).await.unwrap().send_keys(text).await.unwrap();
}

async fn text(c: &Client, css: &str) -> String {
    c.wait().for_element(Locator::Css(css)).await.unwrap().text().await.unwrap()
}

/// A new customer with a verified e-mail, signed in.
async fn sign_in(app: &TestApp, c: &Client, username: &str) {
    verified_customer(app, username).await;
    log_in(app, c, username).await;
}

async fn log_in(app: &TestApp, c: &Client, username: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "#login", username).await;
    fill(c, "#password", CUSTOMER_PASSWORD).await;
    click(c, "main form button[type=submit]").await;
    c.wait().for_element(Locator::Css("#devices")).await.unwrap();
}

async fn sign_out(c: &Client) {
    click(c, "form[action='/logout'] button").await;
    wait_for_path(c, "/").await;
}

async fn wait_for_path(c: &Client, path: &str) {
    for _ in 0..200 {
        if c.current_url().await.unwrap().path() == path {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never reached {path}");
}

/// Configures the starter plan in `region` (its code) and presses "buy now".
async fn buy(app: &TestApp, c: &Client, region: &str) {
    let id = count(app, &format!("SELECT id FROM regions WHERE code = '{region}'")).await.to_string();
    c.goto(&app.url("/servers")).await.unwrap();
    click(c, "#plans section:first-child a.button").await;
    let select = c.wait().for_element(Locator::Css("select[name=region]")).await.unwrap();
    select.select_by_value(&id).await.unwrap();
    click(c, "#buy-now").await;
}

/// Ticks the consent and sends the name and number.
async fn verify(c: &Client, name: &str, number: &str) {
    c.wait().for_element(Locator::Css("#kyc-why")).await.unwrap();
    click(c, "#kyc-consent").await;
    fill(c, "#kyc-form input[name=name]", name).await;
    fill(c, "#kyc-form input[name=id_number]", number).await;
    click(c, "#kyc-form button").await;
}

async fn invoice_unpaid(c: &Client) {
    c.wait().for_element(Locator::XPath("//*[@id='invoice-state' and normalize-space()='未支付']")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_mainland_buyer_verifies_a_teen_waits_for_a_guardian_a_child_is_turned_away() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let Some((c, _driver, profile)) = browser().await else { return };
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();

    // 1. An adult buying in Shanghai is sent to verification first, then buys.
    sign_in(&app, &c, "xiaoli").await;
    buy(&app, &c, "cn-sh").await;
    assert!(text(&c, "#kyc-why").await.contains("网络安全法"), "the reasons first");
    verify(&c, "李明", "110101199001011237").await;
    assert_eq!(text(&c, "#kyc-state").await, "已认证");
    assert!(text(&c, "#kyc-record").await.contains("1101**********1237"));
    buy(&app, &c, "cn-sh").await;
    invoice_unpaid(&c).await;
    sign_out(&c).await;

    // 2. A customer of 16: verified, then held until a guardian's consent is approved.
    sign_in(&app, &c, "xiaohong").await;
    c.goto(&app.url("/account/real-name")).await.unwrap();
    verify(&c, "李小红", "110101200906011237").await;
    fill(&c, "#guardian-form input[name=guardian_name]", "李大明").await;
    let pdf = profile.path().join("consent.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n").unwrap();
    fill(&c, "#guardian-form input[type=file]", pdf.to_str().unwrap()).await;
    click(&c, "#guardian-form button").await;
    assert!(text(&c, "#guardian-consents").await.contains("等待审核"));
    buy(&app, &c, "hk-tko").await;
    c.wait().for_element(Locator::Css("#kyc-guardian")).await.unwrap();
    sign_out(&c).await;
    approve_in_console(&app, &c).await;
    log_in(&app, &c, "xiaohong").await;
    buy(&app, &c, "hk-tko").await;
    invoice_unpaid(&c).await;
    sign_out(&c).await;

    // 3. A child of 15: nothing reaches the provider, the account is closed.
    let asked = app.kyc.requests().len();
    sign_in(&app, &c, "xiaogang").await;
    c.goto(&app.url("/account/real-name")).await.unwrap();
    verify(&c, "王小刚", "110101201006011236").await;
    assert!(text(&c, "#message").await.contains("未满 16 周岁"));
    assert_eq!(app.kyc.requests().len(), asked, "the number never reached the provider");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers WHERE username = 'xiaogang'").await, 0);
    c.close().await.unwrap();
}

/// A compliance officer signs in to the console (password and authenticator code), approves
/// the waiting guardian's consent with a reason, and signs out.
async fn approve_in_console(app: &TestApp, c: &Client) {
    let (_, one_time) = create_staff(app, "shenhe", &[lantian_core::authz::Role::Compliance]).await;
    let secret = first_sign_in(app, &app.new_client(), "shenhe", &one_time).await;
    app.clock.advance(std::time::Duration::from_secs(30));
    c.goto(&app.url("/staff/login")).await.unwrap();
    fill(c, "#username", "shenhe").await;
    fill(c, "#password", STAFF_PASSWORD).await;
    click(c, "form button[type=submit]").await;
    fill(c, "#code", &lantian_core::totp::code_at(&secret, app.core.now()).unwrap()).await;
    click(c, "form button[type=submit]").await;
    c.wait().for_element(Locator::Css("a[href='/staff/real-names']")).await.unwrap();
    click(c, "a[href='/staff/real-names']").await;
    click(c, "a[href='/staff/guardian-consents']").await;
    let row = text(c, "#consents tbody tr").await;
    assert!(row.contains("xiaohong") && row.contains("application/pdf"), "{row}");
    fill(c, "#consents input[id^=review-reason]", "监护人签字已核对").await;
    click(c, "#consents form[action$='/approve'] button:not(.danger)").await;
    c.wait().for_element(Locator::Css("#consent-done")).await.unwrap();
    click(c, "form[action='/staff/logout'] button").await;
    // The sign-out's redirect must land before the next page is asked for, or it replaces it.
    wait_for_path(c, "/staff/login").await;
}
