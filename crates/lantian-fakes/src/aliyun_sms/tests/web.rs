use super::*;

#[tokio::test]
async fn page_lists_messages_newest_first_escaped() {
    let (fake, clock) = start().await;
    let base = fake.endpoint();
    let empty = reqwest::get(&base).await.unwrap().text().await.unwrap();
    assert!(empty.contains("No messages yet"), "{empty}");

    accepted(&Call::sms("13800000000").param("OutId", "<b>first</b>").send(&fake).await);
    clock.store(NOW_MS + 1000, Ordering::SeqCst);
    let call = Call::sms("13900000000").at(NOW_MS + 1000).param("TemplateParam", r#"{"event":"<script>x</script>"}"#);
    accepted(&call.send(&fake).await);

    let response = reqwest::get(&base).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert!(response.headers().contains_key("content-security-policy"));
    let page = response.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"), "{page}");
    assert!(page.contains("<h1>短信 SMS</h1>"), "{page}");
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("event = &lt;script&gt;x&lt;/script&gt;"), "{page}");
    assert!(page.contains("&lt;b&gt;first&lt;/b&gt;"), "{page}");
    assert!(page.contains("蓝天云") && page.contains("SMS_900000001"), "{page}");
    let first = page.find("2025-01-01 00:00:00 UTC").unwrap();
    let second = page.find("2025-01-01 00:00:01 UTC").unwrap();
    assert!(second < first, "newest first: {page}");
    assert!(page.find("13900000000").unwrap() < page.find("13800000000").unwrap(), "{page}");

    let css = reqwest::get(format!("{base}/style.css")).await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // The page is not a SendSms request.
    assert_eq!(fake.attempts(), 2);
}

#[tokio::test]
async fn json_api_lists_accepted_messages_oldest_first() {
    let (fake, _) = start().await;
    accepted(&Call::sms("13800000000").param("OutId", "o-1").send(&fake).await);
    refused(&Call::sms("13800000000").send(&fake).await, 200, "isv.BUSINESS_LIMIT_CONTROL");
    accepted(&Call::sms("13900000000").send(&fake).await);

    let list: Value = reqwest::get(format!("{}/api/messages", fake.endpoint())).await.unwrap().json().await.unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["phone_numbers"][0], "13800000000");
    assert_eq!(list[0]["params"]["event"], "登录 login");
    assert_eq!(list[0]["out_id"], "o-1");
    assert_eq!(list[0]["received_at_ms"], NOW_MS);
    assert_eq!(list[1]["id"], 2);
    assert_eq!(list[1]["out_id"], Value::Null);
}
