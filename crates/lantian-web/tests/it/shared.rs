//! Rate limits across instances, API tokens, consents and the disclosure ledger.

use std::time::Duration;

use lantian_core::Core;
use lantian_core::apitokens::{self, Scope};
use lantian_core::authz::Subject;
use lantian_core::consents::{self, Given, Purpose};
use lantian_core::db::{Access, Db};
use lantian_core::disclosures::{self, Disclosure, Recipient};
use lantian_core::ratelimit::{self, Decision};

db_test!(rate_limits_hold_across_instances, |app| {
    // A second instance: its own pool on the same database (PostgreSQL; on SQLite, the same
    // pool, as only one process may serve a SQLite file).
    let other_db = match &app.core.db {
        Db::Pg(_) => Db::open(&app.core.config.database, Access::Shared).await.unwrap(),
        Db::Sqlite(_) => app.core.db.clone(),
    };
    let other = Core { db: other_db, ..app.core.clone() };
    let window = Duration::from_secs(60);
    let now = app.core.now();
    let mut allowed = 0;
    for i in 0..6 {
        let core = if i % 2 == 0 { &app.core } else { &other };
        if ratelimit::hit(&core.db, "login:ip:203.0.113.9", window, 4, now).await.unwrap() == Decision::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 4);
    match ratelimit::hit(&other.db, "login:ip:203.0.113.9", window, 4, now).await.unwrap() {
        Decision::RetryAfter(d) => assert!(d <= window && d > Duration::ZERO),
        Decision::Allowed => panic!("limit not shared"),
    }
    let later = now.plus(window);
    assert_eq!(
        ratelimit::hit(&app.core.db, "login:ip:203.0.113.9", window, 4, later).await.unwrap(),
        Decision::Allowed
    );
    assert!(ratelimit::purge(&app.core.db, later.plus(window)).await.unwrap() >= 1);
});

db_test!(api_tokens_are_hashed_scoped_expiring_and_revocable, |app| {
    let s = Subject::staff(7);
    let now = app.core.now();
    let (id, token) = apitokens::create(&app.core, s, "deploy", &[Scope::Read], 30, now).await.unwrap();
    assert!(token.starts_with("lt_"));
    let stored: String = lantian_core::on_read!(&app.core.db, c => sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(c).await.unwrap());
    assert!(!stored.contains(&token[3..]), "only a hash is stored");
    let b = apitokens::authenticate(&app.core, &token, now).await.unwrap().unwrap();
    assert_eq!(b.subject, s);
    assert!(b.allows(Scope::Read) && !b.allows(Scope::Write));
    assert!(apitokens::authenticate(&app.core, "lt_forged", now).await.unwrap().is_none());
    assert!(
        apitokens::authenticate(&app.core, &token, now.plus(Duration::from_secs(31 * 86_400))).await.unwrap().is_none(),
        "expired"
    );
    assert!(apitokens::create(&app.core, s, "x", &[Scope::Read], 0, now).await.is_err());
    apitokens::revoke(&app.core, s, id, now).await.unwrap();
    assert!(apitokens::authenticate(&app.core, &token, now).await.unwrap().is_none(), "revoked");
    assert!(apitokens::revoke(&app.core, Subject::staff(8), id, now).await.is_err(), "only your own");
    let r = app.client.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
});

db_test!(consents_keep_their_history_and_the_latest_row_decides, |app| {
    let s = Subject::customer(42);
    let version = consents::current_policy_version(&app.core.db).await.unwrap();
    assert_eq!(version, 1, "version 1 is the 2025-07-19 policy");
    let t0 = app.core.now();
    let mut tx = app.core.db.begin().await.unwrap();
    let how = || Given { detail: "阿里云短信服务 Aliyun SMS", ip: Some("203.0.113.5") };
    consents::give(&mut tx, s, Purpose::SmsNotices, version, how(), t0).await.unwrap();
    consents::give(&mut tx, s, Purpose::PrivacyPolicy, version, Given { detail: "sign-up", ip: None }, t0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(consents::current(&app.core.db, s, Purpose::SmsNotices).await.unwrap().is_some());
    app.clock.advance(Duration::from_secs(60));
    let mut tx = app.core.db.begin().await.unwrap();
    consents::withdraw(&mut tx, s, Purpose::SmsNotices, version, how(), app.core.now()).await.unwrap();
    tx.commit().await.unwrap();
    assert!(consents::current(&app.core.db, s, Purpose::SmsNotices).await.unwrap().is_none());
    assert!(
        consents::current(&app.core.db, s, Purpose::PrivacyPolicy).await.unwrap().is_some(),
        "only that purpose stops"
    );
    let history = consents::history(&app.core.db, s).await.unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!((history[0].purpose.as_str(), history[0].given), ("sms_notices", false));
    assert_eq!(history[0].ip.as_deref(), Some("203.0.113.5"));
});

db_test!(clause_c3_1_each_disclosure_is_recorded_once_per_recipient_purpose_and_object, |app| {
    let s = Subject::customer(42);
    let d = |object: &str| Disclosure {
        recipient: Recipient::PaymentGateway,
        recipient_name: "CooPay",
        fields: &["order_no", "amount", "product_name"],
        purpose: "payment",
        object: ("invoice", object.to_string()),
    };
    let now = app.core.now();
    let mut tx = app.core.db.begin().await.unwrap();
    assert!(disclosures::disclose(&mut tx, s, d("INV-1"), now).await.unwrap());
    assert!(!disclosures::disclose(&mut tx, s, d("INV-1"), now).await.unwrap(), "a retry adds no row");
    assert!(disclosures::disclose(&mut tx, s, d("INV-2"), now).await.unwrap());
    tx.commit().await.unwrap();
    let rows = disclosures::for_subject(&app.core.db, s).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].fields, "order_no,amount,product_name");
    assert!(
        disclosures::for_subject(&app.core.db, Subject::customer(43)).await.unwrap().is_empty(),
        "a customer sees only their own"
    );
});
