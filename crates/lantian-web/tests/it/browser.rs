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
