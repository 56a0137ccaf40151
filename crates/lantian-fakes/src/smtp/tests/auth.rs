use super::*;

const CREDENTIALS: Option<(&str, &str)> = Some(("user", "secret"));
/// base64("\0user\0secret") and base64("\0user\0wrong").
const PLAIN_OK: &str = "AHVzZXIAc2VjcmV0";
const PLAIN_WRONG: &str = "AHVzZXIAd3Jvbmc=";

#[tokio::test]
async fn auth_plain_success_and_failure() {
    let fake = start(CREDENTIALS).await;
    let mut c = Client::connect(fake.smtp_addr()).await;
    c.expect("AUTH PLAIN AHVzZXIAc2VjcmV0", 503).await;
    let ehlo = c.expect("EHLO client.test", 250).await;
    assert!(ehlo.ends_with("250 AUTH PLAIN LOGIN"), "{ehlo}");

    c.expect("MAIL FROM:<a@x.test>", 530).await;
    c.expect(&format!("AUTH PLAIN {PLAIN_WRONG}"), 535).await;
    c.expect("MAIL FROM:<a@x.test>", 530).await;
    c.expect("AUTH PLAIN not-base64!", 501).await;
    c.expect("AUTH CRAM-MD5", 504).await;
    c.expect(&format!("AUTH PLAIN {PLAIN_OK}"), 235).await;
    c.expect(&format!("AUTH PLAIN {PLAIN_OK}"), 503).await;

    let (code, _) = c.send_mail("a@x.test", &["b@x.test"], &message("authed", "x")).await;
    assert_eq!(code, 250);
    assert_eq!(fake.messages()[0].authenticated_as.as_deref(), Some("user"));
}

#[tokio::test]
async fn auth_plain_on_the_next_line_and_cancel() {
    let fake = start(CREDENTIALS).await;
    let mut c = Client::greeted(fake.smtp_addr()).await;
    c.expect("AUTH PLAIN", 334).await;
    c.expect("*", 501).await;
    c.expect("AUTH PLAIN", 334).await;
    c.expect(PLAIN_WRONG, 535).await;
    c.expect("AUTH PLAIN", 334).await;
    c.expect(PLAIN_OK, 235).await;
    c.expect("MAIL FROM:<a@x.test>", 250).await;
}

#[tokio::test]
async fn auth_login() {
    let fake = start(CREDENTIALS).await;
    let mut c = Client::greeted(fake.smtp_addr()).await;
    // base64 of "user", then of "secret".
    let prompt = c.expect("AUTH LOGIN", 334).await;
    assert_eq!(prompt, "334 VXNlcm5hbWU6");
    let prompt = c.expect("dXNlcg==", 334).await;
    assert_eq!(prompt, "334 UGFzc3dvcmQ6");
    c.expect("c2VjcmV0", 235).await;

    // Username sent with the command; wrong password.
    let mut c = Client::greeted(fake.smtp_addr()).await;
    c.expect("AUTH LOGIN dXNlcg==", 334).await;
    c.expect("d3Jvbmc=", 535).await;
}
