//! The notifier: e-mail through real SMTP to the fake, in-site notices, and SMS only to a
//! given phone with a standing consent, through the real Aliyun client to its fake.

use std::time::Duration;

use lantian_core::authz::{Principal, Role, Subject};
use lantian_core::notify::{self, Args, Channels, Class, Event};
use lantian_core::staff::{self, PhoneChange};
use lantian_core::{Core, disclosures, on_read};

use crate::helpers::{TestApp, create_staff};

async fn notify_now(core: &Core, subject: Subject, event: Event, args: Args) {
    let mut tx = core.db.begin().await.unwrap();
    notify::notify(&mut tx, core, subject, event, args, core.now()).await.unwrap();
    tx.commit().await.unwrap();
}

fn device() -> Args {
    Args::from([("device".to_string(), "Firefox 140 / Windows 11".to_string())])
}

async fn with_phone(app: &TestApp, consent: bool) -> Subject {
    let (id, _) = create_staff(app, "oncall", &[Role::Support]).await;
    let who = Principal::Staff { id, roles: vec![Role::Support] };
    staff::set_contact(&app.core, &who, PhoneChange::Set("13812345678"), consent, &Default::default()).await.unwrap();
    Subject::staff(id)
}

async fn job_states(app: &TestApp, kind: &'static str) -> Vec<(String, Option<String>)> {
    const SQL: &str = "SELECT state, last_error FROM jobs WHERE kind = $1 ORDER BY id";
    on_read!(&app.core.db, c => sqlx::query_as(SQL).bind(kind).fetch_all(c).await.unwrap())
}

db_test!(a_password_change_is_mailed_and_noticed_in_the_members_language, |app| {
    let (id, _) = create_staff(&app, "boss", &[Role::Owner]).await;
    staff::change_password(&app.core, id, "another long passphrase", &Default::default()).await.unwrap();
    assert!(app.smtp.messages().is_empty(), "nothing is sent before a worker runs the outbox");
    app.worker().drain().await.unwrap();
    let mails = app.smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].rcpt_to, vec!["boss@staff.example".to_string()]);
    assert_eq!(mails[0].subject, "【蓝天云】 您的密码已修改");
    assert!(mails[0].text_body.contains("如果这不是您本人的操作"));
    let (notices, unread) = notify::notices(&app.core, Subject::staff(id), 10).await.unwrap();
    assert_eq!((notices.len(), unread), (1, 1));
    assert_eq!(notices[0].event, "password-changed");
    notify::mark_read(&app.core, Subject::staff(id), app.core.now()).await.unwrap();
    assert_eq!(notify::notices(&app.core, Subject::staff(id), 10).await.unwrap().1, 0);
});

db_test!(sms_goes_only_to_a_given_phone_with_a_standing_consent, |app| {
    let subject = with_phone(&app, false).await;
    notify_now(&app.core, subject, Event::NewDeviceSignIn, device()).await;
    assert!(job_states(&app, "notify.sms").await.is_empty(), "no consent: no SMS is even queued");
    app.worker().drain().await.unwrap();
    assert_eq!(app.sms.attempts(), 0);

    let who = Principal::Staff { id: subject.id, roles: vec![Role::Support] };
    staff::set_contact(&app.core, &who, PhoneChange::Keep, true, &Default::default()).await.unwrap();
    notify_now(&app.core, subject, Event::NewDeviceSignIn, device()).await;
    app.worker().drain().await.unwrap();
    let sent = app.sms.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].template_code, "SMS_900000001");
    assert_eq!(sent[0].phone_numbers, vec!["13812345678".to_string()]);
    assert_eq!(sent[0].params.get("event").map(String::as_str), Some("新设备登录"));
    let ledger = disclosures::for_subject(&app.core.db, subject).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!((ledger[0].recipient.as_str(), ledger[0].fields.as_str()), ("sms_vendor", "phone"));

    // Queued while the consent stood, withdrawn before it was sent: not sent.
    notify_now(&app.core, subject, Event::AccountLocked, Args::new()).await;
    staff::set_contact(&app.core, &who, PhoneChange::Keep, false, &Default::default()).await.unwrap();
    app.clock.advance(Duration::from_secs(120));
    app.worker().drain().await.unwrap();
    assert_eq!(app.sms.messages().len(), 1, "the withdrawal stopped the queued SMS");
    // Password and two-factor notices never go by SMS.
    assert!(!Event::PasswordChanged.sms_worthy() && !Event::TwoFactorEnabled.sms_worthy());
});

db_test!(sms_vendor_errors_retry_or_stop_as_they_should, |app| {
    let subject = with_phone(&app, true).await;
    app.sms.faults().fail_next(1, "isv.BUSINESS_LIMIT_CONTROL");
    notify_now(&app.core, subject, Event::NewDeviceSignIn, device()).await;
    app.worker().drain().await.unwrap();
    let states = job_states(&app, "notify.sms").await;
    assert_eq!(states[0].0, "queued", "throttling is temporary: {states:?}");
    app.clock.advance(Duration::from_secs(120));
    app.worker().drain().await.unwrap();
    assert_eq!(job_states(&app, "notify.sms").await[0].0, "done");
    assert_eq!(app.sms.messages().len(), 1);

    app.sms.faults().fail_next(1, "isv.MOBILE_NUMBER_ILLEGAL");
    app.clock.advance(Duration::from_secs(120));
    notify_now(&app.core, subject, Event::NewDeviceSignIn, device()).await;
    app.worker().drain().await.unwrap();
    let states = job_states(&app, "notify.sms").await;
    assert_eq!(states[1].0, "dead", "a refused number is not retried");
    assert!(states[1].1.as_deref().unwrap_or("").contains("isv.MOBILE_NUMBER_ILLEGAL"));
});

db_test!(smtp_refusals_retry_when_temporary_and_stop_when_permanent, |app| {
    let (id, _) = create_staff(&app, "boss", &[Role::Owner]).await;
    app.smtp.faults().reject_next(1, 451);
    notify_now(&app.core, Subject::staff(id), Event::PasswordChanged, Args::new()).await;
    app.worker().drain().await.unwrap();
    assert_eq!(job_states(&app, "notify.email").await[0].0, "queued");
    app.clock.advance(Duration::from_secs(120));
    app.worker().drain().await.unwrap();
    assert_eq!(job_states(&app, "notify.email").await[0].0, "done");
    app.smtp.faults().reject_next(1, 554);
    notify_now(&app.core, Subject::staff(id), Event::PasswordChanged, Args::new()).await;
    app.worker().drain().await.unwrap();
    assert_eq!(job_states(&app, "notify.email").await[1].0, "dead");
    assert_eq!(app.smtp.messages().len(), 1);
});

db_test!(security_email_cannot_be_switched_off_and_sms_has_per_number_caps, |app| {
    let subject = with_phone(&app, true).await;
    let off = Channels { email: false, sms: true, insite: true };
    assert!(notify::set_channels(&app.core, subject, Class::Security, off).await.is_err());
    notify::set_channels(&app.core, subject, Class::Billing, off).await.unwrap();
    for _ in 0..6 {
        notify_now(&app.core, subject, Event::NewDeviceSignIn, device()).await;
        app.worker().drain().await.unwrap();
        // The vendor allows one per minute per number; our cap is five an hour.
        app.clock.advance(Duration::from_secs(61));
    }
    assert_eq!(app.sms.messages().len(), 5);
    assert_eq!(app.smtp.messages().len(), 6, "every security notice still went by e-mail");
    assert!(app.smtp.messages()[0].text_body.contains("Firefox 140 / Windows 11"));
    let mut tx = app.core.db.begin().await.unwrap();
    assert!(
        notify::notify(&mut tx, &app.core, subject, Event::NewDeviceSignIn, Args::new(), app.core.now()).await.is_err(),
        "a notice without its arguments is refused"
    );
});

/// The real mailer signs in to an SMTP server that asks for credentials, and a wrong password
/// is a permanent failure (retrying cannot fix configuration).
#[tokio::test]
async fn the_mailer_authenticates_to_smtp() {
    use lantian_core::notify::mail::SmtpMailer;
    use lantian_core::notify::{DeliveryError, Mailer, OutgoingMail};
    use lantian_fakes::smtp::{SmtpFake, SmtpFakeOptions};
    let fake = SmtpFake::start(SmtpFakeOptions {
        web_port: None,
        credentials: Some(("mailer".into(), "s3cret".into())),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut cfg = crate::helpers::test_config("sqlite://unused.db").mail;
    cfg.port = fake.smtp_addr().port();
    cfg.username = "mailer".into();
    cfg.password = lantian_core::config::Secret::new("s3cret");
    let mail =
        OutgoingMail { to: "someone@mail.example".into(), subject: "测试 subject".into(), text: "body".into() };
    SmtpMailer::new(&cfg).unwrap().send(&mail).await.unwrap();
    let got = fake.messages();
    assert_eq!(got[0].authenticated_as.as_deref(), Some("mailer"));
    assert_eq!(got[0].subject, "测试 subject");
    cfg.password = lantian_core::config::Secret::new("wrong");
    match SmtpMailer::new(&cfg).unwrap().send(&mail).await {
        Err(DeliveryError::Permanent(_)) => {}
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}
