use super::*;
use crate::epay::OrderStatus;

async fn page(url: &str) -> (u16, String) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert!(response.headers().contains_key("content-security-policy"));
    (status, response.text().await.unwrap())
}

/// The `content` of the page's meta refresh: `1;url=<escaped URL>`.
fn refresh_target(page: &str) -> String {
    let start = page.find("content=\"1;url=").unwrap() + "content=\"1;url=".len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn the_buyer_pays_and_returns_with_signed_fields() {
    let (fake, _) = start().await;
    let merchant = MerchantServer::acknowledging().await;
    let trade_no = create_v1(&fake, "LT50", Some(merchant.addr())).await;
    let cashier = format!("{}cashier/{trade_no}", fake.base_url());
    let (status, unpaid) = page(&cashier).await;
    assert_eq!(status, 200);
    assert!(unpaid.contains("待支付 Unpaid") && unpaid.contains("支付宝 Alipay"), "{unpaid}");
    assert!(unpaid.contains("<svg xmlns") && !unpaid.contains("<?xml"), "{unpaid}");
    assert!(unpaid.contains(&format!("action=\"/cashier/{trade_no}/pay\"")), "{unpaid}");

    let response = client().post(format!("{cashier}/pay")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], cashier.as_str());
    let (_, paid) = page(&cashier).await;
    assert!(paid.contains("已支付 Paid") && !paid.contains("/pay\""), "{paid}");
    let back = refresh_target(&paid);
    let (base, query) = back.split_once('?').unwrap();
    assert_eq!(base, "https://portal.example.com/pay/return");
    let returned: Fields = reqwest::Url::parse(&back).unwrap().query_pairs().into_owned().collect();
    assert!(!query.is_empty());
    assert_eq!(returned["out_trade_no"], "LT50");
    assert_eq!(returned["sign"], md5_sign(&returned, KEY, KeyStyle::Appended));
    eventually("the notification", || merchant.received().len() == 1).await;

    // Pressing Pay again changes nothing.
    assert_eq!(client().post(format!("{cashier}/pay")).send().await.unwrap().status(), 303);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(merchant.received().len(), 1);
}

#[tokio::test]
async fn the_buyer_can_fail_and_unknown_orders_are_404() {
    let (fake, _) = start().await;
    let trade_no = create_v1(&fake, "LT51", None).await;
    let cashier = format!("{}cashier/{trade_no}", fake.base_url());
    assert_eq!(client().post(format!("{cashier}/fail")).send().await.unwrap().status(), 303);
    assert_eq!(fake.order("LT51").unwrap().status, OrderStatus::Failed);
    let (_, failed) = page(&cashier).await;
    assert!(failed.contains("支付失败 Failed") && !failed.contains("<form"), "{failed}");
    assert!(fake.notifies().is_empty());

    assert_eq!(page(&format!("{}cashier/1", fake.base_url())).await.0, 404);
    assert_eq!(client().post(format!("{}cashier/1/pay", fake.base_url())).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn pages_escape_what_merchants_sent() {
    let (fake, _) = start().await;
    let form =
        md5_signed(with(order_fields("LT52", None), &[("name", "<script>alert(1)</script>"), ("clientip", "::1")]));
    let trade_no = post_json(&fake, "mapi.php", &form).await["trade_no"].as_str().unwrap().to_owned();
    let (_, cashier) = page(&format!("{}cashier/{trade_no}", fake.base_url())).await;
    assert!(!cashier.contains("<script") && cashier.contains("&lt;script&gt;"), "{cashier}");

    let (status, index) = page(&fake.base_url()).await;
    assert_eq!(status, 200);
    assert!(!index.contains("<script") && index.contains("LT52"), "{index}");
    assert!(index.contains(&format!("href=\"/cashier/{trade_no}\"")), "{index}");
    assert!(index.contains("No notifications yet"), "{index}");
}
