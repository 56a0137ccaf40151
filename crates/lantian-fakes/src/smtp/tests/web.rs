use super::*;

async fn deliver(fake: &SmtpFake, subject: &str, body: &str) {
    let mut c = Client::greeted(fake.smtp_addr()).await;
    let (code, text) = c.send_mail("a@x.test", &["b@x.test"], &message(subject, body)).await;
    assert_eq!(code, 250, "{text}");
}

#[tokio::test]
async fn list_shows_messages_newest_first() {
    let fake = start(None).await;
    let base = format!("http://{}", fake.web_addr().unwrap());
    let empty = reqwest::get(&base).await.unwrap().text().await.unwrap();
    assert!(empty.contains("No messages yet"), "{empty}");

    deliver(&fake, "=?UTF-8?B?5rWL6K+V6YKu5Lu2?=", "x").await;
    deliver(&fake, "second <b>", "x").await;
    let response = reqwest::get(&base).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert!(response.headers().contains_key("content-security-policy"));
    let page = response.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"), "{page}");
    assert!(page.contains("收件箱 Mailbox"));
    assert!(page.contains("2023-11-14 22:13:20 UTC"), "{page}");
    let first = page.find("<a href=\"/messages/1\">测试邮件</a>").unwrap();
    let second = page.find("<a href=\"/messages/2\">second &lt;b&gt;</a>").unwrap();
    assert!(second < first, "newest first: {page}");
    assert!(!page.contains("<script"));

    let css = reqwest::get(format!("{base}/style.css")).await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn message_page_escapes_everything() {
    let fake = start(None).await;
    let base = format!("http://{}", fake.web_addr().unwrap());
    deliver(&fake, "<script>alert(1)</script>", "<script>alert(2)</script> & more").await;

    let page = reqwest::get(format!("{base}/messages/1")).await.unwrap().text().await.unwrap();
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(2)&lt;/script&gt; &amp; more"), "{page}");
    assert!(page.contains("<h2>原始邮件 Raw source</h2>"), "{page}");
    assert!(page.contains("Subject: &lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    assert!(page.contains("a@x.test") && page.contains("b@x.test"), "{page}");

    let missing = reqwest::get(format!("{base}/messages/99")).await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn json_api_lists_and_clears() {
    let fake = start(None).await;
    let base = format!("http://{}", fake.web_addr().unwrap());
    deliver(&fake, "hello json", "body").await;

    let list: serde_json::Value = reqwest::get(format!("{base}/api/messages")).await.unwrap().json().await.unwrap();
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["subject"], "hello json");
    assert_eq!(list[0]["rcpt_to"][0], "b@x.test");
    assert_eq!(list[0]["received_at_ms"], NOW_MS);

    let client = reqwest::Client::new();
    let cleared = client.post(format!("{base}/api/clear")).send().await.unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(fake.messages().is_empty());
    assert_eq!(fake.received_count(), 1);

    // The page's clear button posts a form and lands back on the list.
    deliver(&fake, "again", "body").await;
    let page = client.post(format!("{base}/clear")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("No messages yet"));
    assert!(fake.messages().is_empty());
}
