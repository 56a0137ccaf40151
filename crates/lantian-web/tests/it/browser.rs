//! The journey in a real browser (Debian's headless Chromium through chromium-driver):
//! the home page in Chinese, then a click on "English".

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use lantian_core::db::DbKind;

use crate::helpers::spawn_app;

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session, or None (skipped) where the browser is not installed and
/// this is not CI.
pub async fn browser() -> Option<(fantoccini::Client, tokio::process::Child, tempfile::TempDir)> {
    if !std::path::Path::new(DRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromium and chromium-driver must be installed in CI");
        }
        eprintln!("skipped: chromium or chromedriver not installed");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = tokio::process::Command::new(DRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", "--lang=zh-CN",
                     format!("--user-data-dir={}", profile.path().display())],
            // A visitor from the mainland: the browser asks for Chinese.
            "prefs": { "intl": { "accept_languages": "zh-CN,zh" } }
        }
    });
    let caps = caps.as_object().unwrap().clone();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        let mut b = ClientBuilder::rustls().unwrap();
        if let Ok(c) = b.capabilities(caps.clone()).connect(&url).await {
            return Some((c, driver, profile));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_home_page_in_both_languages() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let Some((c, _driver, _profile)) = browser().await else { return };
    c.goto(&app.url("/")).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "首页 · 蓝天云");
    let heading = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
    assert!(heading.contains("香港与中国大陆云服务器"), "{heading}");
    c.find(Locator::Css("button[name=lang][value=en]")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("html[lang=en]")).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "Home · Lantian Cloud");
    let regions = c.find(Locator::Css("#regions")).await.unwrap().text().await.unwrap();
    assert!(
        regions.contains("Hong Kong (Tseung Kwan O)") && regions.contains("Real-name verification required"),
        "{regions}"
    );
    // And back, from the English page.
    c.find(Locator::Css("button[name=lang][value=zh-CN]")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("html[lang=zh-CN]")).await.unwrap();
    c.close().await.unwrap();
}

/// The staff journey: the owner signs in with a one-time password, enrols an authenticator,
/// sets a password, reveals a colleague's masked e-mail with a reason, and finds that act in
/// the audit trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_owner_reveals_a_masked_value_and_finds_it_audited() {
    use lantian_core::authz::Role;
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let (_, one_time) = crate::helpers::create_staff(&app, "boss", &[Role::Owner]).await;
    let (clerk, _) = crate::helpers::create_staff(&app, "clerk", &[Role::Billing]).await;
    let Some((c, _driver, _profile)) = browser().await else { return };
    let fill = |css: &'static str, text: String| {
        let c = c.clone();
        async move { c.find(Locator::Css(css)).await.unwrap().send_keys(&text).await.unwrap() }
    };
    c.goto(&app.url("/staff/login")).await.unwrap();
    fill("#username", "boss".into()).await;
    fill("#password", one_time).await;
    c.find(Locator::Css("form button[type=submit]")).await.unwrap().click().await.unwrap();
    let secret = c.wait().for_element(Locator::Css("#totp-secret")).await.unwrap().text().await.unwrap();
    fill("#code", lantian_core::totp::code_at(&secret, app.core.now()).unwrap()).await;
    c.find(Locator::Css("form button[type=submit]")).await.unwrap().click().await.unwrap();
    let codes = c.wait().for_element(Locator::Css("#recovery-codes")).await.unwrap().text().await.unwrap();
    assert_eq!(codes.lines().count(), 10, "{codes}");
    c.find(Locator::Css("a.button")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("#confirm")).await.unwrap();
    fill("#password", crate::helpers::STAFF_PASSWORD.into()).await;
    fill("#confirm", crate::helpers::STAFF_PASSWORD.into()).await;
    c.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css(".flash")).await.unwrap();
    c.find(Locator::Css("nav a[href='/staff/team']")).await.unwrap().click().await.unwrap();
    let row = c.wait().for_element(Locator::Css(&format!("#staff-{clerk} .email"))).await.unwrap();
    assert_eq!(row.text().await.unwrap(), "c***@staff.example");
    c.find(Locator::Css(&format!("#reason-{clerk}")))
        .await
        .unwrap()
        .send_keys("ticket 77: billing contact check")
        .await
        .unwrap();
    c.find(Locator::Css(&format!("#staff-{clerk} form button"))).await.unwrap().click().await.unwrap();
    let shown = c.wait().for_element(Locator::Css(&format!("#staff-{clerk} .email strong"))).await.unwrap();
    assert_eq!(shown.text().await.unwrap(), "clerk@staff.example");
    c.find(Locator::Css("nav a[href='/staff/audit']")).await.unwrap().click().await.unwrap();
    let table = c.wait().for_element(Locator::Css("#audit-rows")).await.unwrap().text().await.unwrap();
    assert!(table.contains("personal_data.reveal") && table.contains("ticket 77"), "{table}");
    assert!(!table.contains("clerk@staff.example"));
    c.close().await.unwrap();
}

/// The customer journey: sign up, verify from the demo mailbox's mail, sign in, see the
/// device and the sign-in history, turn on two-step verification; then a stranger's wrong
/// passwords lock the account and its owner gets the alert mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_customer_signs_up_verifies_secures_and_is_warned_of_a_lockout() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let Some((c, _driver, _profile)) = browser().await else { return };
    let password = "amber-kettle-orchard-58";
    let fill = |css: &'static str, text: String| {
        let c = c.clone();
        async move { c.find(Locator::Css(css)).await.unwrap().send_keys(&text).await.unwrap() }
    };
    let click = |css: &'static str| {
        let c = c.clone();
        async move { c.find(Locator::Css(css)).await.unwrap().click().await.unwrap() }
    };
    c.goto(&app.url("/register")).await.unwrap();
    fill("#username", "meili".into()).await;
    fill("#email", "meili@mail.example".into()).await;
    fill("#password", password.into()).await;
    click("input[name=age][value=adult]").await;
    click("input[name=accept]").await;
    click("main form button[type=submit]").await;
    let msg = c.wait().for_element(Locator::Css("#message")).await.unwrap().text().await.unwrap();
    assert!(msg.contains("验证邮件"), "{msg}");
    app.worker().drain().await.unwrap();
    let mail = app.smtp.messages().into_iter().find(|m| m.rcpt_to == vec!["meili@mail.example".to_string()]).unwrap();
    let at = mail.text_body.find("http://").unwrap();
    let link: String = mail.text_body[at..].split_whitespace().next().unwrap().to_string();
    let link = link.replace("http://127.0.0.1:8080", &app.base);
    c.goto(&link).await.unwrap();
    assert!(c.find(Locator::Css("#message")).await.unwrap().text().await.unwrap().contains("已验证"));

    c.goto(&app.url("/login")).await.unwrap();
    fill("#login", "meili".into()).await;
    fill("#password", password.into()).await;
    click("main form button[type=submit]").await;
    c.wait().for_element(Locator::Css("#devices")).await.unwrap();
    app.access_log.flush().await;
    c.refresh().await.unwrap();
    let history = c.wait().for_element(Locator::Css("#login-history")).await.unwrap().text().await.unwrap();
    assert!(history.contains("登录成功") && history.contains("127.0.0.1"), "{history}");
    let devices = c.find(Locator::Css("#devices")).await.unwrap().text().await.unwrap();
    assert!(devices.contains("Chrome") && devices.contains("当前设备"), "{devices}");

    click("nav a[href='/account/security']").await;
    click("#totp-start").await;
    let secret = c.wait().for_element(Locator::Css("#totp-secret")).await.unwrap().text().await.unwrap();
    fill("#code", lantian_core::totp::code_at(&secret, app.core.now()).unwrap()).await;
    click("main form button[type=submit]").await;
    c.wait().for_element(Locator::Css("#recovery-codes")).await.unwrap();

    // Someone else tries passwords: the account locks, and its owner is told by mail.
    let stranger = app.new_client();
    for _ in 0..5 {
        stranger
            .post(app.url("/login"))
            .form(&[("login", "meili"), ("password", "guess-guess-guess")])
            .send()
            .await
            .unwrap();
    }
    let r = stranger.post(app.url("/login")).form(&[("login", "meili"), ("password", password)]).send().await.unwrap();
    assert_eq!(r.status(), 429);
    app.worker().drain().await.unwrap();
    assert!(
        app.smtp
            .messages()
            .iter()
            .any(|m| m.rcpt_to == vec!["meili@mail.example".to_string()] && m.subject.contains("账户已暂时锁定"))
    );
    c.close().await.unwrap();
}

/// Declaring an age under 16 ends the sign-up kindly and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_under_16_sign_up_stores_nothing() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let Some((c, _driver, _profile)) = browser().await else { return };
    c.goto(&app.url("/register")).await.unwrap();
    for (css, text) in
        [("#username", "littleone"), ("#email", "little@mail.example"), ("#password", "amber-kettle-orchard-58")]
    {
        c.find(Locator::Css(css)).await.unwrap().send_keys(text).await.unwrap();
    }
    c.find(Locator::Css("input[name=age][value=child]")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("input[name=accept]")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    let msg = c.wait().for_element(Locator::Css("#message")).await.unwrap().text().await.unwrap();
    assert!(msg.contains("没有保存"), "{msg}");
    let n: i64 = lantian_core::on_read!(&app.core.db, db => sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(db).await.unwrap());
    assert_eq!(n, 0);
    c.close().await.unwrap();
}
