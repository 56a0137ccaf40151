use super::*;

#[tokio::test]
async fn two_messages_on_one_connection() {
    let fake = start(None).await;
    let mut c = Client::connect(fake.smtp_addr()).await;
    let ehlo = c.expect("EHLO client.test", 250).await;
    for capability in ["SIZE 10485760", "8BITMIME", "SMTPUTF8", "PIPELINING"] {
        assert!(ehlo.contains(capability), "{ehlo}");
    }
    assert!(!ehlo.contains("AUTH"), "no AUTH without credentials: {ehlo}");

    c.expect("MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME", 250).await;
    c.expect("RCPT TO:<b@example.com>", 250).await;
    c.expect("RCPT TO:<c@example.com>", 250).await;
    c.expect("DATA", 354).await;
    c.write_raw(message("first", "hello one").as_bytes()).await;
    c.write_raw(b".\r\n").await;
    let (code, text) = c.reply().await;
    assert_eq!(code, 250, "{text}");
    assert!(text.contains("queued as 1"), "{text}");

    let (code, _) = c.send_mail("x@example.com", &["y@example.com"], &message("second", "hello two")).await;
    assert_eq!(code, 250);
    c.expect("QUIT", 221).await;
    assert!(c.closed_silently().await);

    let messages = fake.messages();
    assert_eq!(messages.len(), 2);
    let first = &messages[0];
    assert_eq!(first.id, 1);
    assert_eq!(first.received_at_ms, NOW_MS);
    assert_eq!(first.mail_from, "a@example.com");
    assert_eq!(first.rcpt_to, ["b@example.com", "c@example.com"]);
    assert_eq!(first.subject, "first");
    assert_eq!(first.text_body.trim_end(), "hello one");
    assert_eq!(first.raw, message("first", "hello one"));
    assert_eq!(first.authenticated_as, None);
    assert_eq!(messages[1].id, 2);
    assert_eq!(messages[1].subject, "second");
    assert_eq!(messages[1].rcpt_to, ["y@example.com"]);
    assert_eq!(fake.received_count(), 2);

    fake.clear();
    assert!(fake.messages().is_empty());
    assert_eq!(fake.received_count(), 2);
    fake.shutdown().await;
}

#[tokio::test]
async fn dot_unstuffing_and_end_of_data() {
    let fake = start(None).await;
    let mut c = Client::greeted(fake.smtp_addr()).await;
    // A client doubles leading dots; a lone "." inside the body is sent as "..".
    let sent = "Subject: dots\r\n\r\n..leading dot\r\n..\r\nmiddle . dot\r\n...\r\n";
    let (code, text) = c.send_mail("a@x.test", &["b@x.test"], sent).await;
    assert_eq!(code, 250, "{text}");
    let m = &fake.messages()[0];
    assert_eq!(m.raw, "Subject: dots\r\n\r\n.leading dot\r\n.\r\nmiddle . dot\r\n..\r\n");
    assert_eq!(m.text_body, ".leading dot\r\n.\r\nmiddle . dot\r\n..\r\n");
}

#[tokio::test]
async fn decodes_chinese_subjects() {
    let fake = start(None).await;
    let mut c = Client::greeted(fake.smtp_addr()).await;
    // "测试邮件" as an RFC 2047 encoded word, as lettre writes it.
    let encoded = message("=?UTF-8?B?5rWL6K+V6YKu5Lu2?=", "你好，世界");
    assert_eq!(c.send_mail("a@x.test", &["b@x.test"], &encoded).await.0, 250);
    // And as raw UTF-8, which SMTPUTF8 clients may send.
    c.expect("MAIL FROM:<发件人@例子.测试> SMTPUTF8", 250).await;
    c.expect("RCPT TO:<收件人@例子.测试>", 250).await;
    c.expect("DATA", 354).await;
    c.write_raw(message("验证码 123456", "正文").as_bytes()).await;
    c.write_raw(b".\r\n").await;
    assert_eq!(c.reply().await.0, 250);

    let messages = fake.messages();
    assert_eq!(messages[0].subject, "测试邮件");
    assert_eq!(messages[0].text_body.trim_end(), "你好，世界");
    assert_eq!(messages[1].subject, "验证码 123456");
    assert_eq!(messages[1].mail_from, "发件人@例子.测试");
    assert_eq!(messages[1].rcpt_to, ["收件人@例子.测试"]);
}

#[tokio::test]
async fn sequence_and_syntax_errors() {
    let fake = start(None).await;
    let mut c = Client::connect(fake.smtp_addr()).await;
    c.expect("MAIL FROM:<a@x.test>", 503).await;
    c.expect("EHLO", 501).await;
    c.expect("HELO client.test", 250).await;
    c.expect("RCPT TO:<b@x.test>", 503).await;
    c.expect("DATA", 503).await;
    c.expect("MAIL FROM:a@x.test", 501).await;
    c.expect("MAIL FROM:<a@x.test> FOO=1", 555).await;
    c.expect("MAIL FROM:<a@x.test>", 250).await;
    c.expect("MAIL FROM:<a@x.test>", 503).await;
    c.expect("DATA", 503).await;
    c.expect("RCPT TO:<>", 501).await;
    c.expect("RCPT TO:<b@x.test>", 250).await;
    c.expect("RSET", 250).await;
    c.expect("DATA", 503).await;
    c.expect("NOOP", 250).await;
    c.expect("VRFY someone", 252).await;
    c.expect("STARTTLS", 500).await;
    c.expect("BOGUS", 500).await;
    c.expect("AUTH PLAIN AHVzZXIAc2VjcmV0", 502).await;
    c.expect(&format!("NOOP {}", "x".repeat(1200)), 500).await;
    c.expect("NOOP", 250).await;
    c.expect("QUIT", 221).await;
    assert!(fake.messages().is_empty());
}

#[tokio::test]
async fn recipient_limit() {
    let fake = start(None).await;
    let mut c = Client::greeted(fake.smtp_addr()).await;
    c.expect("MAIL FROM:<a@x.test>", 250).await;
    for n in 0..100 {
        c.expect(&format!("RCPT TO:<r{n}@x.test>"), 250).await;
    }
    c.expect("RCPT TO:<one-too-many@x.test>", 452).await;
}

#[tokio::test]
async fn size_limits() {
    let fake = start(None).await;
    let mut c = Client::greeted(fake.smtp_addr()).await;
    c.expect("MAIL FROM:<a@x.test> SIZE=10485761", 552).await;
    c.expect("MAIL FROM:<a@x.test> SIZE=lots", 501).await;

    // 11 000 lines of 1000 bytes each: over 10 MiB, each line within limits.
    let line = format!("{}\r\n", "a".repeat(998));
    let big = format!("Subject: big\r\n\r\n{}", line.repeat(11_000));
    let (code, text) = c.send_mail("a@x.test", &["b@x.test"], &big).await;
    assert_eq!(code, 552, "{text}");

    let long_line = format!("Subject: long\r\n\r\n{}\r\n", "b".repeat(1001));
    let (code, text) = c.send_mail("a@x.test", &["b@x.test"], &long_line).await;
    assert_eq!(code, 500, "{text}");

    // The connection stays usable and nothing was recorded.
    let (code, _) = c.send_mail("a@x.test", &["b@x.test"], &message("ok", "x")).await;
    assert_eq!(code, 250);
    assert_eq!(fake.received_count(), 1);
    assert_eq!(fake.messages()[0].subject, "ok");
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let fake = start(None).await;
    let mut c = Client::greeted(fake.smtp_addr()).await;
    c.write_raw(b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n").await;
    for want in [250, 250, 250, 354] {
        assert_eq!(c.reply().await.0, want);
    }
    c.write_raw(b"Subject: piped\r\n\r\nbody\r\n.\r\nQUIT\r\n").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.reply().await.0, 221);
    assert_eq!(fake.messages()[0].rcpt_to, ["b@x.test", "c@x.test"]);
}

#[tokio::test]
async fn concurrent_connections() {
    let fake = Arc::new(start(None).await);
    let mut tasks = Vec::new();
    for n in 0..10 {
        let addr = fake.smtp_addr();
        tasks.push(tokio::spawn(async move {
            let mut c = Client::greeted(addr).await;
            let body = message(&format!("m{n}"), "x");
            c.send_mail("a@x.test", &["b@x.test"], &body).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 250);
    }
    let mut subjects: Vec<_> = fake.messages().into_iter().map(|m| m.subject).collect();
    subjects.sort();
    let mut want: Vec<_> = (0..10).map(|n| format!("m{n}")).collect();
    want.sort();
    assert_eq!(subjects, want);
}

#[tokio::test]
async fn shutdown_closes_the_ports() {
    let fake = start(None).await;
    let smtp = fake.smtp_addr();
    let web = fake.web_addr().unwrap();
    let mut open = Client::greeted(smtp).await;
    fake.shutdown().await;
    assert!(open.closed_silently().await);
    assert!(TcpStream::connect(smtp).await.is_err());
    assert!(TcpStream::connect(web).await.is_err());
}

#[tokio::test]
async fn web_page_is_optional() {
    let fake =
        SmtpFake::start(SmtpFakeOptions { web_port: None, keep_last: 1, ..SmtpFakeOptions::default() }).await.unwrap();
    assert_eq!(fake.web_addr(), None);
    assert!(fake.smtp_addr().ip().is_loopback());
    let mut c = Client::greeted(fake.smtp_addr()).await;
    for subject in ["one", "two"] {
        let (code, _) = c.send_mail("a@x.test", &["b@x.test"], &message(subject, "x")).await;
        assert_eq!(code, 250);
    }
    assert_eq!(fake.received_count(), 2);
    let kept = fake.messages();
    assert_eq!((kept.len(), kept[0].id, kept[0].subject.as_str()), (1, 2, "two"));
}
