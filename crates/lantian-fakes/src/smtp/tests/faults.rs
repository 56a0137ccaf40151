use std::time::Instant;

use super::*;

#[tokio::test]
async fn reject_next_then_success() {
    let fake = start(None).await;
    fake.faults().reject_next(1, 451);
    let mut c = Client::greeted(fake.smtp_addr()).await;
    let (code, text) = c.send_mail("a@x.test", &["b@x.test"], &message("try 1", "x")).await;
    assert_eq!(code, 451, "{text}");
    assert!(text.starts_with("451 4."), "{text}");
    assert!(fake.messages().is_empty());

    let (code, _) = c.send_mail("a@x.test", &["b@x.test"], &message("try 2", "x")).await;
    assert_eq!(code, 250);
    assert_eq!(fake.messages()[0].subject, "try 2");
    assert_eq!(fake.received_count(), 1);

    fake.faults().reject_next(2, 554);
    for _ in 0..2 {
        let (code, text) = c.send_mail("a@x.test", &["b@x.test"], &message("no", "x")).await;
        assert_eq!(code, 554, "{text}");
    }
    fake.faults().reject_next(5, 554);
    fake.faults().reset();
    assert_eq!(c.send_mail("a@x.test", &["b@x.test"], &message("ok", "x")).await.0, 250);
    assert_eq!(fake.received_count(), 2);
}

#[tokio::test]
async fn drop_next_closes_without_reply() {
    let fake = start(None).await;
    fake.faults().drop_next(1);
    let mut c = Client::greeted(fake.smtp_addr()).await;
    c.expect("MAIL FROM:<a@x.test>", 250).await;
    c.expect("RCPT TO:<b@x.test>", 250).await;
    c.expect("DATA", 354).await;
    c.write_raw(message("lost", "x").as_bytes()).await;
    c.write_raw(b".\r\n").await;
    assert!(c.closed_silently().await);
    assert!(fake.messages().is_empty());

    // Only one was asked for: the retry goes through.
    let mut c = Client::greeted(fake.smtp_addr()).await;
    let (code, _) = c.send_mail("a@x.test", &["b@x.test"], &message("retry", "x")).await;
    assert_eq!(code, 250);
    assert_eq!(fake.messages()[0].subject, "retry");
}

#[tokio::test]
async fn delay_slows_every_reply() {
    let fake = start(None).await;
    let mut c = Client::greeted(fake.smtp_addr()).await;
    fake.faults().set_delay_ms(300);
    let started = Instant::now();
    c.expect("NOOP", 250).await;
    assert!(started.elapsed() >= Duration::from_millis(300));

    fake.faults().set_delay_ms(0);
    let started = Instant::now();
    c.expect("NOOP", 250).await;
    assert!(started.elapsed() < Duration::from_millis(300));
}
