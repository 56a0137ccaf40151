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
