//! The web skeleton: health, headers, languages, preferences, CSRF, limits, error pages, the
//! API conventions. Nothing a client sends gets a 500.

use std::io::{Read, Write};

use lantian_core::db::DbKind;
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

async fn app() -> TestApp {
    spawn_app(DbKind::Sqlite).await.unwrap()
}

db_test!(health_and_readiness, |app| {
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ok");
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ready");
});

db_test!(home_lists_the_regions_in_both_languages, |app| {
    let zh = app.get("/").await.text().await.unwrap();
    assert!(zh.contains("<html lang=\"zh-CN\"") && zh.contains("香港 将军澳") && zh.contains("需完成实名认证"), "{zh}");
    let en = app.client.get(app.url("/")).header("accept-language", "en-GB,en;q=0.9").send().await.unwrap();
    let en = en.text().await.unwrap();
    assert!(
        en.contains("<html lang=\"en\"")
            && en.contains("Hong Kong (Tseung Kwan O)")
            && en.contains("Real-name verification required")
    );
});

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = app().await;
    for path in ["/", "/healthz", "/no-such-page", "/static/app.css", "/api/v1/regions"] {
        let r = app.get(path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
        assert!(!h.contains_key("strict-transport-security"), "no HSTS over plain HTTP");
    }
}

#[tokio::test]
async fn error_pages_speak_the_visitors_language() {
    let app = app().await;
    let r = app.get("/missing").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("页面不存在"));
    let r = app.client.get(app.url("/missing")).header("accept-language", "en").send().await.unwrap();
    assert!(r.text().await.unwrap().contains("Page not found"));
    let r = app.client.delete(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.text().await.unwrap().contains("不支持的操作"));
}

#[tokio::test]
async fn preference_cookie_sets_language_and_theme_and_beats_accept_language() {
    let app = app().await;
    let r =
        app.client.post(app.url("/preferences")).form(&[("lang", "en"), ("back", "/account")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/account");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("lantian_prefs=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let r = app
        .client
        .post(app.url("/preferences"))
        .form(&[("theme", "dark"), ("back", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/", "no open redirect");
    let page =
        app.client.get(app.url("/")).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<html lang=\"en\" data-theme=\"dark\""), "{page}");
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = app().await;
    let post = |origin: Option<&'static str>, site: Option<&'static str>| {
        let mut rq = app.client.post(app.url("/preferences")).form(&[("lang", "en")]);
        if let Some(o) = origin {
            rq = rq.header("origin", o);
        }
        if let Some(s) = site {
            rq = rq.header("sec-fetch-site", s);
        }
        rq.send()
    };
    let refused = post(Some("https://evil.example"), None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("拒绝访问"));
    assert_eq!(post(Some("null"), None).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(post(None, Some("cross-site")).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(post(None, Some("same-site")).await.unwrap().status(), StatusCode::FORBIDDEN);
    let own: &'static str = Box::leak(app.base.clone().into_boxed_str());
    assert_eq!(post(Some(own), None).await.unwrap().status(), StatusCode::SEE_OTHER);
    assert_eq!(post(None, Some("same-origin")).await.unwrap().status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn bad_input_never_gets_a_500() {
    let app = app().await;
    let big = "x".repeat(70_000);
    let r = app
        .client
        .post(app.url("/preferences"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("内容过大"));
    let r = app
        .client
        .post(app.url("/preferences"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("lang=%FF%FE&theme=%")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error() || r.status() == StatusCode::SEE_OTHER, "{}", r.status());
    let r = app
        .client
        .post(app.url("/preferences"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    for path in [
        "/static/%FF%FE",
        "/static/../../etc/passwd",
        "/api/v1/regions?limit=1e99",
        "/api/v1/regions?after=-1",
        "/%00",
        "/api/v1/%C0%AF",
    ] {
        let r = app.get(path).await;
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
    }
    // Raw bytes no client library will send: invalid UTF-8 in the path, a broken header.
    for raw in [
        &b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"BREW /pot HTCPCP/1.0\r\n\r\n",
    ] {
        let mut s = std::net::TcpStream::connect(app.addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        s.write_all(raw).unwrap();
        let mut buf = vec![0; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(head.starts_with("HTTP/1.1 4") || n == 0, "{head}");
    }
}

#[tokio::test]
async fn api_uses_problem_documents_and_keyset_pages() {
    let app = app().await;
    let r = app.get("/api/v1/regions?limit=2").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page: serde_json::Value = r.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next_after"].as_i64().unwrap();
    let page2: serde_json::Value =
        app.get(&format!("/api/v1/regions?limit=2&after={next}")).await.json().await.unwrap();
    assert_ne!(page2["items"][0]["id"], page["items"][0]["id"]);
    let last: serde_json::Value = app.get("/api/v1/regions?limit=100").await.json().await.unwrap();
    assert!(last["next_after"].is_null());

    let r = app.client.get(app.url("/api/v1/regions?limit=0")).header("accept-language", "en").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["status"], 422);
    assert_eq!(p["field"], "limit");
    assert_eq!(p["detail"], "The page size must be between 1 and 100.");
    let r = app.get("/api/v1/regions?limit=abc").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = app.get("/api/v1/nothing-here").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn openapi_document_describes_the_api() {
    let app = app().await;
    let doc: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert!(doc["paths"]["/api/v1/regions"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn static_assets_are_embedded_and_cacheable() {
    let app = app().await;
    let r = app.get("/static/app.css").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/css");
    let etag = r.headers()["etag"].clone();
    let again = app.client.get(app.url("/static/app.css")).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let page = app.get("/").await.text().await.unwrap();
    assert!(
        !page.contains("<script") && !page.contains("style=") && !page.contains("<style"),
        "no inline script or style"
    );
    assert!(!page.contains("http://") && !page.contains("https://"), "no outside resources");
}
