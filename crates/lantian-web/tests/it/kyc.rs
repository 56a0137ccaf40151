//! Real-name verification from the customer's side, against the Aliyun Cloudauth fake: the
//! page that explains first, the separate consent, what the provider receives, the mainland
//! gate, ages (under 16 closed, 16–17 held for a guardian's consent), what is stored, and bad
//! input.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lantian_core::authz::{Principal, Role};
use lantian_core::kyc::{self, guardian};
use lantian_core::{RequestMeta, on_read};

use crate::helpers::{T0, TestApp, count, create_staff, signed_in_customer};

/// 1990-01-01, male: 36 at T0 (2026-01-01).
const ADULT: &str = "110101199001011237";
/// 2009-06-01: 16 at T0, 18 on 2027-06-01.
const SIXTEEN: &str = "110101200906011237";
/// 2010-06-01: 15 at T0.
const FIFTEEN: &str = "110101201006011236";
/// Another adult, 1987-07-07.
const OTHER_ADULT: &str = "440306198707071236";

async fn submit(app: &TestApp, c: &reqwest::Client, consent: bool, name: &str, number: &str) -> reqwest::Response {
    let mut form = vec![("name", name), ("id_number", number)];
    if consent {
        form.push(("consent", "yes"));
    }
    c.post(app.url("/account/real-name")).form(&form).send().await.unwrap()
}

async fn page(app: &TestApp, c: &reqwest::Client) -> String {
    c.get(app.url("/account/real-name")).send().await.unwrap().text().await.unwrap()
}

/// Orders `s1` monthly in the region; the response (an invoice, or where the gate sends one).
async fn order(app: &TestApp, c: &reqwest::Client, region: &str) -> reqwest::Response {
    let plan = count(app, "SELECT id FROM plans WHERE code = 's1'").await.to_string();
    let region = count(app, &format!("SELECT id FROM regions WHERE code = '{region}'")).await.to_string();
    let form = [("plan", plan.as_str()), ("region", &region), ("cycle", "monthly"), ("os_image", "debian-12")];
    c.post(app.url("/account/checkout")).form(&form).send().await.unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

async fn compliance(app: &TestApp) -> Principal {
    Principal::Staff { id: create_staff(app, "compliance", &[Role::Compliance]).await.0, roles: vec![Role::Compliance] }
}

db_test!(clause_c1_3_the_page_gives_the_legal_bases_before_asking_for_anything, |app| {
    let (_, c) = signed_in_customer(&app, "kyc_reader").await;
    let html = page(&app, &c).await;
    let why = html.find("id=\"kyc-why\"").expect("the explanation");
    let form = html.find("id=\"kyc-form\"").expect("the form");
    assert!(why < form, "the reasons come before the fields");
    for basis in ["网络安全法》第二十四条", "反恐怖主义法》第二十一条", "互联网用户账号信息管理规定"]
    {
        assert!(html[why..form].contains(basis), "{basis}");
    }
    assert!(html[why..form].contains("阿里云实人认证"), "the provider is named");
    assert!(html.contains("加密连接"), "over an encrypted connection");
    let consent = &html[html.find("id=\"kyc-consent\"").unwrap() - 60..];
    assert!(!consent[..120].contains("checked"), "the consent box starts unticked");
    let en = c.get(app.url("/account/real-name")).header("accept-language", "en").send().await.unwrap();
    let en = en.text().await.unwrap();
    assert!(en.contains("Cybersecurity Law") || en.contains("实名"), "both languages");
});

db_test!(clause_c3_4_the_provider_receives_only_the_name_and_number_and_is_disclosed, |app| {
    let (id, c) = signed_in_customer(&app, "kyc_consent").await;
    let r = submit(&app, &c, false, "张三", ADULT).await;
    assert_eq!(r.status(), 422, "no consent, no verification");
    assert!(r.text().await.unwrap().contains("请勾选同意"));
    assert!(app.kyc.requests().is_empty(), "nothing sent without the consent");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM consents WHERE purpose = 'real_name'").await, 0);

    let r = submit(&app, &c, true, "张三", ADULT).await;
    assert_eq!(location(&r), "/account/real-name?result=verified");
    let sent = app.kyc.requests();
    assert_eq!(sent.len(), 1);
    let names: Vec<&str> = sent[0].form.keys().map(String::as_str).collect();
    assert_eq!(names, ["IdentifyNum", "ParamType", "UserName"], "the name and the number, nothing else");
    assert!(sent[0].query.is_empty(), "nothing personal in the address");
    let disclosed = format!(
        "SELECT COUNT(*) FROM disclosures WHERE subject_id = {id} AND recipient = 'real_name_provider' \
         AND fields = 'real_name,id_number'"
    );
    assert_eq!(count(&app, &disclosed).await, 1, "one disclosure row for the verification");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM consents WHERE purpose = 'real_name' AND given").await, 1);
    let html = page(&app, &c).await;
    assert!(html.contains("1101**********1237") && !html.contains(ADULT), "masked");
    let shown = &html[html.find("id=\"kyc-disclosed\"").expect("the customer sees the disclosure")..];
    assert!(shown.contains("阿里云实人认证") && shown.contains("姓名、证件号码"));
});

db_test!(clause_c1_2_mainland_servers_need_a_verified_real_name_hong_kong_does_not, |app| {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    let (id, c) = signed_in_customer(&app, "kyc_buyer").await;
    let r = order(&app, &c, "cn-sh").await;
    assert_eq!(location(&r), "/account/real-name", "sent to verification first");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, 0);
    assert!(location(&order(&app, &c, "hk-tko").await).starts_with("/account/invoices/"), "Hong Kong never asks");

    submit(&app, &c, true, "张三", ADULT).await;
    assert!(location(&order(&app, &c, "cn-sh").await).starts_with("/account/invoices/"), "verified: can buy");
    let sh = count(&app, "SELECT id FROM regions WHERE code = 'cn-sh'").await;
    kyc::may_provision(&app.core, id, sh).await.expect("provisioning's check passes");

    // Staff revoke the verification between checkout and provisioning: provisioning refuses.
    let staff = compliance(&app).await;
    kyc::staff::revoke(&app.core, &staff, id, "forged document", &RequestMeta::default(), T0).await.unwrap();
    assert!(kyc::may_provision(&app.core, id, sh).await.is_err(), "checked again before creating anything");
    let hk = count(&app, "SELECT id FROM regions WHERE code = 'hk-tko'").await;
    kyc::may_provision(&app.core, id, hk).await.expect("Hong Kong needs none");
    assert_eq!(location(&order(&app, &c, "cn-sh").await), "/account/real-name");
});

db_test!(clause_c4_2_a_customer_cannot_change_verified_real_name_data, |app| {
    let (id, c) = signed_in_customer(&app, "kyc_locked").await;
    submit(&app, &c, true, "张三", ADULT).await;
    let html = page(&app, &c).await;
    assert!(!html.contains("id=\"kyc-form\""), "no form once verified");
    assert!(html.contains("联系我们"), "it says how to have it corrected");
    let r = submit(&app, &c, true, "李四", OTHER_ADULT).await;
    assert_eq!(r.status(), 422, "refused with the page again");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM consents WHERE purpose = 'real_name'").await, 1, "no new consent");
    let record = kyc::record(&app.core, id).await.unwrap().unwrap();
    assert_eq!((record.state.as_str(), record.name_masked.as_str()), ("verified", "张*"));
    assert_eq!(app.kyc.requests().len(), 1, "the change never reached the provider");
});

db_test!(clause_c7_2_a_child_s_number_never_reaches_the_provider_and_the_account_is_closed, |app| {
    let (id, c) = signed_in_customer(&app, "kyc_child").await;
    let r = submit(&app, &c, true, "小明", FIFTEEN).await;
    assert_eq!(r.status(), 200);
    let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(cookies.iter().any(|c| c.contains("Max-Age=0")), "signed out: {cookies:?}");
    assert!(r.text().await.unwrap().contains("未满 16 周岁"));
    assert!(app.kyc.requests().is_empty(), "the number never reached the provider");
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM customers WHERE id = {id}")).await, 0, "closed");
    for table in ["real_name_records", "consents", "disclosures", "sessions"] {
        let sql = match table {
            "real_name_records" => format!("SELECT COUNT(*) FROM {table} WHERE customer_id = {id}"),
            _ => format!("SELECT COUNT(*) FROM {table} WHERE subject_kind = 'customer' AND subject_id = {id}"),
        };
        assert_eq!(count(&app, &sql).await, 0, "{table}");
    }
    let audit = "SELECT COUNT(*) FROM audit_log WHERE action = 'kyc.child_found'";
    assert_eq!(count(&app, audit).await, 1);
    assert_eq!(c.get(app.url("/account")).send().await.unwrap().status(), 303, "the session is gone");
});

db_test!(clause_c7_1_a_customer_of_16_is_held_until_staff_approve_a_guardian_s_consent, |app| {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    let (id, c) = signed_in_customer(&app, "kyc_teen").await;
    submit(&app, &c, true, "李小红", SIXTEEN).await;
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM customers WHERE id = {id} AND age_bracket = 'minor'")).await,
        1
    );
    assert_eq!(location(&order(&app, &c, "hk-tko").await), "/account/real-name", "held, even in Hong Kong");
    let html = page(&app, &c).await;
    assert!(html.contains("id=\"guardian-form\""));

    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n".to_vec();
    let upload = |bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("consent.pdf").mime_str("application/pdf").unwrap();
        let form = reqwest::multipart::Form::new()
            .text("guardian_name", "李大明")
            .text("relationship", "father")
            .part("document", part);
        c.post(app.url("/account/real-name/guardian")).multipart(form).send()
    };
    let fake = upload(b"MZ\x90\x00 not a pdf".to_vec()).await.unwrap();
    assert_eq!(fake.status(), 422, "a PDF that is not a PDF");
    // Refused on its Content-Length before the body is read: the client may still be writing
    // when the answer comes and the connection closes.
    match upload(vec![b'%'; 6 * 1024 * 1024]).await {
        Ok(huge) => assert_eq!(huge.status(), 413),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM guardian_consents").await, 0);
    let r = upload(pdf.clone()).await.unwrap();
    assert_eq!(location(&r), "/account/real-name?result=guardian");
    let stored: String = on_read!(&app.core.db, db => sqlx::query_scalar("SELECT document_enc FROM guardian_consents").fetch_one(db).await.unwrap());
    assert!(stored.starts_with("v1.") && !stored.contains("PDF"), "sealed");
    assert_eq!(location(&order(&app, &c, "hk-tko").await), "/account/real-name", "not before approval");

    let staff = compliance(&app).await;
    let consent = guardian::pending(&app.core, &staff).await.unwrap()[0].id;
    let (name, kind, bytes) =
        guardian::reveal(&app.core, &staff, consent, "reviewing the consent", &RequestMeta::default(), T0)
            .await
            .unwrap();
    assert_eq!((name.as_str(), kind, bytes), ("李大明", "application/pdf", pdf));
    guardian::review(&app.core, &staff, consent, true, "signed by the father", &RequestMeta::default(), T0)
        .await
        .unwrap();
    assert!(location(&order(&app, &c, "hk-tko").await).starts_with("/account/invoices/"), "approved: can buy");

    // On the 18th birthday the document is deleted and the customer is an adult.
    app.clock.set(lantian_core::UnixMs(T0.0 + 600 * 86_400_000));
    lantian_core::jobs::Periodic::run(&guardian::ComingOfAge, &app.core).await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM guardian_consents").await, 0);
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM customers WHERE id = {id} AND age_bracket = 'adult'")).await,
        1
    );
});

db_test!(bad_numbers_and_names_are_refused_before_the_provider_and_store_nothing, |app| {
    let (_, c) = signed_in_customer(&app, "kyc_typo").await;
    for (name, number, says) in [
        ("张三", "11010119900101123", "18 位"),
        ("张三", "110101199001011238", "校验位"),
        ("张三", "110101190002290011", "出生日期无效"),
        ("张三", "110101209912310015", "晚于今天"),
        ("张三", "990101199001011237", "地区码"),
        ("张3", ADULT, "真实姓名"),
        ("<b>张三</b>", ADULT, "真实姓名"),
    ] {
        let r = submit(&app, &c, true, name, number).await;
        assert_eq!(r.status(), 422, "{name} {number}");
        let html = r.text().await.unwrap();
        assert!(html.contains(says), "{name} {number}: {says}");
        assert!(!html.contains("<b>张三"), "markup is not echoed");
    }
    assert!(app.kyc.requests().is_empty());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM real_name_records").await, 0);
});

db_test!(one_number_serves_one_account_without_saying_which, |app| {
    let (_, first) = signed_in_customer(&app, "kyc_first").await;
    let (_, second) = signed_in_customer(&app, "kyc_second").await;
    submit(&app, &first, true, "张三", ADULT).await;
    let r = submit(&app, &second, true, "张三", ADULT).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("已用于其他账户") && !html.contains("kyc_first"));
    assert_eq!(app.kyc.requests().len(), 1);
});

db_test!(double_submissions_reach_the_provider_once, |app| {
    let (id, c) = signed_in_customer(&app, "kyc_double").await;
    let runs: Vec<_> = (0..4).map(|_| submit(&app, &c, true, "张三", ADULT)).collect();
    let statuses: Vec<u16> = futures::future::join_all(runs).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 1, "{statuses:?}");
    assert_eq!(app.kyc.requests().len(), 1);
    assert_eq!(kyc::record(&app.core, id).await.unwrap().unwrap().state, "verified");
});

db_test!(a_provider_that_fails_leaves_the_request_pending_and_the_retry_verifies, |app| {
    let (id, c) = signed_in_customer(&app, "kyc_patient").await;
    app.kyc.faults().error_next("500");
    let r = submit(&app, &c, true, "张三", ADULT).await;
    assert_eq!(location(&r), "/account/real-name?result=pending");
    assert_eq!(kyc::record(&app.core, id).await.unwrap().unwrap().state, "pending", "never verified by an error");
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM customers WHERE id = {id} AND real_name_verified_at IS NULL")).await,
        1
    );
    assert_eq!(kyc::verify::retry_due(&app.core, app.core.now()).await.unwrap(), 0, "not due yet");
    app.clock.advance(Duration::from_secs(120));
    app.kyc.faults().garbage_next();
    assert_eq!(kyc::verify::retry_due(&app.core, app.core.now()).await.unwrap(), 1);
    assert_eq!(kyc::record(&app.core, id).await.unwrap().unwrap().state, "pending", "garbage verifies nothing");
    app.clock.advance(Duration::from_secs(600));
    assert_eq!(kyc::verify::retry_due(&app.core, app.core.now()).await.unwrap(), 1);
    assert_eq!(kyc::record(&app.core, id).await.unwrap().unwrap().state, "verified");
    let disclosed =
        format!("SELECT COUNT(*) FROM disclosures WHERE subject_id = {id} AND recipient = 'real_name_provider'");
    assert_eq!(count(&app, &disclosed).await, 1, "one row per verification, not per try");
});

// Everything written while a customer is verified, read back raw: the database file and its
// log on SQLite, every text column on PostgreSQL, and every log line.
db_test!(clause_c3_4_no_plain_name_or_number_is_stored_or_logged, |app| {
    let lines = capture_logs();
    let (_, c) = signed_in_customer(&app, "kyc_sealed").await;
    submit(&app, &c, true, "欧阳娜娜", ADULT).await;
    let (_, other) = signed_in_customer(&app, "kyc_sealed_2").await;
    submit(&app, &other, true, "王五", OTHER_ADULT).await;
    app.access_log.flush().await;
    let secrets = ["欧阳娜娜", ADULT, "王五", OTHER_ADULT];
    match &app.core.db {
        lantian_core::Db::Sqlite(_) => {
            let path = app.db.url.trim_start_matches("sqlite://").to_string();
            for file in [path.clone(), format!("{path}-wal")] {
                let raw = std::fs::read(&file).unwrap_or_default();
                for s in secrets {
                    assert!(!contains(&raw, s.as_bytes()), "{s} in {file}");
                }
            }
        }
        lantian_core::Db::Pg(pg) => {
            let columns: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'bytea', 'jsonb')",
            )
            .fetch_all(pg)
            .await
            .unwrap();
            assert!(columns.len() > 50, "{}", columns.len());
            for (table, column) in columns {
                for s in secrets {
                    let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE position($1 in \"{column}\"::text) > 0");
                    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(s).fetch_one(pg).await.unwrap();
                    assert_eq!(n, 0, "{s} in {table}.{column}");
                }
            }
        }
    }
    let logged = String::from_utf8_lossy(&lines.lock().unwrap()).to_string();
    assert!(logged.contains("kyc") || !logged.is_empty(), "the capture works");
    for s in secrets {
        assert!(!logged.contains(s), "{s} in the logs");
    }
});

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every log line of this test process, at every level, into a buffer.
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    #[derive(Clone)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(buffer.clone());
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || sink.clone()).finish();
    // One subscriber per test process (nextest runs each test alone).
    let _ = tracing::subscriber::set_global_default(subscriber);
    buffer
}

db_test!(verification_attempts_are_capped_per_day, |app| {
    let (_, c) = signed_in_customer(&app, "kyc_guesser").await;
    let limit = app.core.config.kyc.attempts_per_day as usize;
    for _ in 0..limit {
        assert_eq!(location(&submit(&app, &c, true, "王五", ADULT).await), "/account/real-name?result=rejected");
    }
    let r = submit(&app, &c, true, "张三", ADULT).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("今天的认证次数已用完"));
    assert_eq!(app.kyc.requests().len(), limit, "the provider is asked no more");
    // The next day (signed in again: the session has expired meanwhile).
    app.clock.advance(Duration::from_secs(86_400));
    let form = [("login", "kyc_guesser"), ("password", crate::helpers::CUSTOMER_PASSWORD)];
    assert_eq!(c.post(app.url("/login")).form(&form).send().await.unwrap().status(), 303);
    assert_eq!(location(&submit(&app, &c, true, "张三", ADULT).await), "/account/real-name?result=verified");
});
