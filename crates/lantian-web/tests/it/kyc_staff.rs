//! The console's real-name pages (C4.2: verified real-name data only staff can change, on
//! request): masked records, the audited reveal, revocation, correction through the provider
//! fake, guardians' consents (C7.1), "child found" (C7.2), roles and refused input.

use lantian_core::RequestMeta;
use lantian_core::authz::Role;
use lantian_core::kyc::guardian::Upload;
use lantian_core::kyc::{self, Outcome, Submission};

use crate::helpers::{TestApp, count, create_staff, csrf_of, first_sign_in, verified_customer};

/// Born 1990-01-01: an adult at `T0` (2026-01-01). Valid GB 11643 check characters.
const ADULT_ID: &str = "110101199001011237";
/// Born 1985-06-15, for corrections.
const OTHER_ID: &str = "110105198506154568";
/// Born 2008-06-01: 17 at `T0`, so a guardian's consent is needed.
const MINOR_ID: &str = "110101200806012347";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

/// A customer whose real name (张三, `id_number`) the provider fake has confirmed.
async fn verified(app: &TestApp, username: &str, id_number: &str) -> i64 {
    let id = verified_customer(app, username).await;
    let s = Submission { consent: true, name: "张三", id_number };
    let outcome = kyc::submit(&app.core, id, &s, &RequestMeta::default(), app.core.now()).await.unwrap();
    assert_eq!(outcome, Outcome::Verified);
    id
}

/// A member with these roles, signed in on a fresh client, and the form token.
async fn member(app: &TestApp, username: &str, roles: &[Role]) -> (reqwest::Client, String) {
    let (_, one_time) = create_staff(app, username, roles).await;
    let c = app.new_client();
    first_sign_in(app, &c, username, &one_time).await;
    let csrf = csrf_of(app, &c).await;
    (c, csrf)
}

async fn compliance(app: &TestApp) -> (reqwest::Client, String) {
    member(app, "checker", &[Role::Compliance]).await
}

/// (status, location or body) of a form post.
async fn post(app: &TestApp, c: &reqwest::Client, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = c.post(app.url(path)).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(r.text().await.unwrap()))
}

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> String {
    let r = c.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn audited(app: &TestApp, action: &str) -> i64 {
    count(app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")).await
}

async fn record_field(app: &TestApp, customer: i64, column: &str) -> String {
    let sql = format!("SELECT {column} FROM real_name_records WHERE customer_id = {customer}");
    let sql = sqlx::AssertSqlSafe(sql);
    lantian_core::on_read!(&app.core.db, c => sqlx::query_scalar::<_, String>(sql).fetch_one(c).await.unwrap())
}

db_test!(clause_c4_2_compliance_sees_real_names_masked_and_reveals_one_with_a_reason, |app| {
    let customer = verified(&app, "zhangsan", ADULT_ID).await;
    let (c, csrf) = compliance(&app).await;
    let list = page(&app, &c, "/staff/real-names").await;
    assert!(list.contains("href=\"/staff/real-names\""), "the console's menu links the pages");
    assert!(list.contains("zhangsan") && list.contains("1101**********1237") && list.contains("张*"));
    assert!(page(&app, &c, "/staff/real-names?state=verified").await.contains("zhangsan"));
    assert!(!page(&app, &c, "/staff/real-names?state=rejected").await.contains("zhangsan"));
    let path = format!("/staff/real-names/{customer}");
    let detail = page(&app, &c, &path).await;
    for html in [&list, &detail] {
        assert!(!html.contains(ADULT_ID) && !html.contains("张三"), "masked by default");
    }
    assert!(detail.contains("已认证"), "zh-CN by default");
    // The reveal: the number in full on the answer, and a row in the audit trail.
    let form = [("field", "id_number"), ("reason", "customer disputes an invoice"), ("csrf", csrf.as_str())];
    let (status, body) = post(&app, &c, &format!("{path}/reveal"), &form).await;
    assert_eq!(status, 200);
    assert!(body.contains(ADULT_ID) && !body.contains("张三"), "only the field asked for");
    assert_eq!(audited(&app, "personal_data.reveal").await, 1);
    let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'personal_data.reveal' \
         AND reason = 'customer disputes an invoice'";
    assert_eq!(count(&app, sql).await, 1);
    assert!(!page(&app, &c, &path).await.contains(ADULT_ID), "masked again on the next visit");
    // In English too.
    let r = c.get(app.url(&path)).header("accept-language", "en").send().await.unwrap();
    let body = r.text().await.unwrap();
    assert!(body.contains("Verified") && !body.contains("已认证"), "a translated state");
    // A member without ComplianceManage sees none of it.
    let (billing, billing_csrf) = member(&app, "cashier", &[Role::Billing]).await;
    let home = page(&app, &billing, "/staff").await;
    assert!(!home.contains("href=\"/staff/real-names\""), "the menu shows only what the role may do");
    for p in ["/staff/real-names", path.as_str(), "/staff/guardian-consents"] {
        assert_eq!(billing.get(app.url(p)).send().await.unwrap().status(), 403, "billing: {p}");
    }
    let form = [("field", "id_number"), ("reason", "just curious about it"), ("csrf", billing_csrf.as_str())];
    assert_eq!(post(&app, &billing, &format!("{path}/reveal"), &form).await.0, 403);
    let form = [("reason", "not my job"), ("csrf", billing_csrf.as_str())];
    assert_eq!(post(&app, &billing, &format!("{path}/revoke"), &form).await.0, 403);
    assert_eq!(audited(&app, "personal_data.reveal").await, 1, "refused reveals are not reveals");
    // Another session's form token is refused.
    let form = [("field", "id_number"), ("reason", "customer disputes an invoice"), ("csrf", billing_csrf.as_str())];
    assert_eq!(post(&app, &c, &format!("{path}/reveal"), &form).await.0, 403);
});

db_test!(clause_c4_2_staff_revoke_a_verification_with_a_reason, |app| {
    let customer = verified(&app, "zhangsan", ADULT_ID).await;
    let (c, csrf) = compliance(&app).await;
    let verified_at =
        format!("SELECT COUNT(*) FROM customers WHERE id = {customer} AND real_name_verified_at IS NOT NULL");
    assert_eq!(count(&app, &verified_at).await, 1);
    let path = format!("/staff/real-names/{customer}/revoke");
    let form = [("reason", "forged document reported"), ("csrf", csrf.as_str())];
    let (status, to) = post(&app, &c, &path, &form).await;
    assert_eq!((status, to), (303, format!("/staff/real-names/{customer}?done=revoked")));
    assert_eq!(count(&app, &verified_at).await, 0, "the customer is no longer verified");
    assert_eq!(audited(&app, "kyc.revoke").await, 1);
    let shown = page(&app, &c, &format!("/staff/real-names/{customer}?done=revoked")).await;
    assert!(shown.contains("实名认证已撤销") && shown.contains("已撤销"));
    // Only a verified record can be revoked: the page says so, nothing more is audited.
    let (status, body) = post(&app, &c, &path, &form).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"revoke-error\"") && body.contains("该记录当前不是已认证状态"), "{body}");
    assert_eq!(audited(&app, "kyc.revoke").await, 1);
});

db_test!(clause_c4_2_staff_correct_a_record_on_request_through_the_provider, |app| {
    let customer = verified(&app, "zhangsan", ADULT_ID).await;
    let (c, csrf) = compliance(&app).await;
    let path = format!("/staff/real-names/{customer}/correct");
    let form = [("name", "张三"), ("id_number", OTHER_ID), ("reason", "customer sent a new card"), ("csrf", &csrf)];
    let (status, to) = post(&app, &c, &path, &form).await;
    assert_eq!((status, to), (303, format!("/staff/real-names/{customer}?done=verified")));
    assert_eq!(record_field(&app, customer, "state").await, "verified");
    assert_eq!(record_field(&app, customer, "number_masked").await, "1101**********4568");
    let shown = page(&app, &c, &format!("/staff/real-names/{customer}?done=verified")).await;
    assert!(shown.contains("1101**********4568") && !shown.contains(OTHER_ID));
    assert_eq!(audited(&app, "kyc.correct").await, 1);
    // A name the provider says does not go with the number: rejected, and the page says so.
    let form = [("name", "王五"), ("id_number", OTHER_ID), ("reason", "customer changed name"), ("csrf", &csrf)];
    let (status, to) = post(&app, &c, &path, &form).await;
    assert_eq!((status, to), (303, format!("/staff/real-names/{customer}?done=rejected")));
    assert_eq!(record_field(&app, customer, "state").await, "rejected");
    assert_eq!(record_field(&app, customer, "outcome").await, "mismatch");
    let verified_at = format!("SELECT COUNT(*) FROM customers WHERE id = {customer} AND real_name_verified_at IS NULL");
    assert_eq!(count(&app, &verified_at).await, 1);
    // A provider that does not answer leaves it pending, to be asked again.
    app.kyc.faults().error_next("500");
    let form = [("name", "张三"), ("id_number", OTHER_ID), ("reason", "customer asked again"), ("csrf", &csrf)];
    let (status, to) = post(&app, &c, &path, &form).await;
    assert_eq!((status, to), (303, format!("/staff/real-names/{customer}?done=pending")));
    assert_eq!(record_field(&app, customer, "state").await, "pending");
    // While pending there is nothing to correct.
    let (status, body) = post(&app, &c, &path, &form).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"correct-error\"") && body.contains("正在核验中"), "{body}");
});

db_test!(clause_c7_1_staff_view_and_review_a_guardians_consent, |app| {
    let customer = verified(&app, "teen", MINOR_ID).await;
    let meta = RequestMeta::default();
    let upload = Upload { guardian_name: "张父", relationship: "father", document: PDF };
    let id = kyc::guardian::upload(&app.core, customer, &upload, &meta, app.core.now()).await.unwrap();
    let (c, csrf) = compliance(&app).await;
    let list = page(&app, &c, "/staff/guardian-consents").await;
    assert!(list.contains(&format!("id=\"consent-{id}\"")) && list.contains("teen") && list.contains("父亲"));
    assert!(!list.contains("张父"), "the guardian's name is not listed");
    // The document: exactly what was uploaded, never cached, never sniffed into something else.
    let doc = format!("/staff/guardian-consents/{id}/document");
    let r = c.post(app.url(&doc)).form(&[("reason", "checking the signature"), ("csrf", &csrf)]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-disposition"], "inline");
    assert!(!h.values().any(|v| v.as_bytes().windows("张父".len()).any(|w| w == "张父".as_bytes())));
    assert_eq!(r.bytes().await.unwrap().as_ref(), PDF);
    assert_eq!(audited(&app, "personal_data.reveal").await, 1);
    // Without a reason there is no document.
    let (status, body) = post(&app, &c, &doc, &[("reason", ""), ("csrf", &csrf)]).await;
    assert_eq!(status, 422);
    assert!(body.contains(&format!("id=\"consent-{id}-error\"")) && !body.contains("%PDF"));
    assert_eq!(audited(&app, "personal_data.reveal").await, 1);
    // Rejecting needs a reason too; then approval lets the customer buy.
    let reject = format!("/staff/guardian-consents/{id}/reject");
    assert_eq!(post(&app, &c, &reject, &[("reason", ""), ("csrf", &csrf)]).await.0, 422);
    let approved = format!("SELECT COUNT(*) FROM customers WHERE id = {customer} AND guardian_approved_at IS NOT NULL");
    assert_eq!(count(&app, &approved).await, 0);
    let approve = format!("/staff/guardian-consents/{id}/approve");
    let (status, to) = post(&app, &c, &approve, &[("reason", "signed by the father"), ("csrf", &csrf)]).await;
    assert_eq!((status, to.as_str()), (303, "/staff/guardian-consents?done=approved"));
    assert_eq!(count(&app, &approved).await, 1);
    assert_eq!(audited(&app, "kyc.guardian_approve").await, 1);
    assert!(!page(&app, &c, "/staff/guardian-consents").await.contains(&format!("id=\"consent-{id}\"")));
    let detail = page(&app, &c, &format!("/staff/real-names/{customer}")).await;
    assert!(detail.contains("已批准") && detail.contains("signed by the father"));
    // Reviewed once only.
    let (status, body) = post(&app, &c, &reject, &[("reason", "second thoughts"), ("csrf", &csrf)]).await;
    assert_eq!(status, 422);
    assert!(body.contains("该监护人同意书不存在或已审核"));
});

db_test!(clause_c7_2_staff_close_the_account_of_a_child, |app| {
    let customer = verified(&app, "zhangsan", ADULT_ID).await;
    let (c, csrf) = compliance(&app).await;
    let path = format!("/staff/real-names/{customer}/child-found");
    assert_eq!(post(&app, &c, &path, &[("reason", ""), ("csrf", &csrf)]).await.0, 422);
    let form = [("reason", "parent reported a 12-year-old"), ("csrf", csrf.as_str())];
    let (status, to) = post(&app, &c, &path, &form).await;
    assert_eq!((status, to.as_str()), (303, "/staff/real-names?done=closed"));
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM customers WHERE id = {customer}")).await, 0);
    assert_eq!(audited(&app, "kyc.child_found").await, 1);
    let list = page(&app, &c, "/staff/real-names?done=closed").await;
    assert!(list.contains("账户已关闭") && !list.contains("zhangsan"));
    assert_eq!(c.get(app.url(&format!("/staff/real-names/{customer}"))).send().await.unwrap().status(), 404);
});

db_test!(kyc_staff_bad_input_is_refused_on_the_page_and_changes_nothing, |app| {
    let customer = verified(&app, "zhangsan", ADULT_ID).await;
    let (c, csrf) = compliance(&app).await;
    let base = format!("/staff/real-names/{customer}");
    // Reveal: no reason, a field that cannot be revealed.
    let (status, body) = post(&app, &c, &format!("{base}/reveal"), &[("field", "id_number"), ("csrf", &csrf)]).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"reveal-error\"") && body.contains("请填写查看原因") && !body.contains(ADULT_ID));
    let form = [("field", "email"), ("reason", "customer disputes an invoice"), ("csrf", csrf.as_str())];
    let (status, body) = post(&app, &c, &format!("{base}/reveal"), &form).await;
    assert_eq!(status, 422);
    assert!(body.contains("只能查看姓名或证件号码"));
    assert_eq!(audited(&app, "personal_data.reveal").await, 0);
    // Correct: a malformed number, or none at all.
    for number in ["11010119900101123X", "abc", ""] {
        let form = [("name", "张三"), ("id_number", number), ("reason", "customer asked"), ("csrf", &csrf)];
        let (status, body) = post(&app, &c, &format!("{base}/correct"), &form).await;
        assert_eq!(status, 422, "{number}");
        assert!(body.contains("id=\"correct-error\""), "{number}");
    }
    assert_eq!(record_field(&app, customer, "state").await, "verified");
    assert_eq!(record_field(&app, customer, "number_masked").await, "1101**********1237");
    assert_eq!(audited(&app, "kyc.correct").await, 0);
    // Unknown ids are not found; ids that are not numbers are bad requests, never errors.
    let form = [("field", "id_number"), ("reason", "customer disputes an invoice"), ("csrf", csrf.as_str())];
    assert_eq!(c.get(app.url("/staff/real-names/999999")).send().await.unwrap().status(), 404);
    for action in ["reveal", "correct", "child-found"] {
        assert_eq!(post(&app, &c, &format!("/staff/real-names/999999/{action}"), &form).await.0, 404, "{action}");
    }
    assert_eq!(post(&app, &c, "/staff/guardian-consents/999999/document", &form).await.0, 404);
    assert_eq!(c.get(app.url("/staff/real-names/abc")).send().await.unwrap().status(), 400);
    assert_eq!(post(&app, &c, "/staff/guardian-consents/abc/approve", &form).await.0, 400);
});

db_test!(the_records_list_pages_through_every_record, |app| {
    let mut tx = app.core.db.begin().await.unwrap();
    for i in 0..55 {
        let customer: i64 = lantian_core::on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO customers (username, username_key, email, email_verified_at, password_hash, age_bracket, lang, created_at) VALUES ($1, $1, $2, 0, 'x', 'adult', 'zh-CN', 0) RETURNING id").bind(format!("bulk_{i}")).bind(format!("bulk_{i}@example.com")).fetch_one(c).await.unwrap());
        lantian_core::on_tx!(&mut tx, c => sqlx::query("INSERT INTO real_name_records (customer_id, state, document_kind, name_masked, number_masked, submitted_at) VALUES ($1, 'rejected', 'mainland_id', '张*', '1101**********1237', $1)").bind(customer).execute(c).await.unwrap().rows_affected());
    }
    tx.commit().await.unwrap();
    let (c, _) = compliance(&app).await;
    let first = page(&app, &c, "/staff/real-names?state=rejected").await;
    assert_eq!(first.matches("<tr id=\"record-").count(), 50);
    let older = first.split("id=\"older\"").next().unwrap().rsplit("href=\"").next().unwrap().to_string();
    assert!(older.starts_with("/staff/real-names?before=") && older.contains("state=rejected"), "{older}");
    let second = page(&app, &c, &older.replace("&amp;", "&")).await;
    assert_eq!(second.matches("<tr id=\"record-").count(), 5);
    assert!(!second.contains("id=\"older\""));
});
