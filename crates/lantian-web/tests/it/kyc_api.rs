//! Real-name verification over the JSON API with a customer's token: the state, a submission
//! against the Aliyun Cloudauth fake (match, mismatch, not found, provider failure), what is
//! refused before the provider is asked, the child under 16 whose account closes, and the
//! guardian's consent of a 17-year-old, uploaded as multipart with its own body limit.
//!
//! The clock is at `T0` (1 January 2026 in Shanghai); the numbers below carry a correct GB 11643
//! check character.

use lantian_core::accounts;
use lantian_core::apitokens::{self, Scope};
use lantian_core::authz::{Principal, Role, Subject};
use lantian_core::kyc::{self, guardian};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{T0, TestApp, count, create_staff, verified_customer};

/// Born 15 May 1990.
const ADULT: &str = "110101199005151237";
/// Born 20 March 1985.
const OTHER_ADULT: &str = "110101198503204560";
/// Born 1 June 2008: 17, adult on 1 June 2026.
const MINOR: &str = "110101200806012347";
/// Born 1 June 2010: 15.
const CHILD: &str = "110101201006013450";
/// Born 1 January 2027, after today.
const UNBORN: &str = "110101202701011232";
/// Sequence digits 999: the fake's authority has no record of it.
const UNKNOWN: &str = "110101199005159992";

const BOUNDARY: &str = "lantian-test-boundary";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A customer's API client.
struct Customer<'a> {
    app: &'a TestApp,
    id: i64,
    token: String,
}

impl<'a> Customer<'a> {
    /// A customer with a verified e-mail and a read-write token.
    async fn new(app: &'a TestApp, username: &str) -> Customer<'a> {
        let id = verified_customer(app, username).await;
        Customer { app, id, token: token(app, accounts::subject(id), &[Scope::Read, Scope::Write]).await }
    }

    async fn status(&self) -> Value {
        json_of(self.get().await, 200).await
    }

    async fn get(&self) -> reqwest::Response {
        self.app.client.get(self.app.url("/api/v1/real-name")).bearer_auth(&self.token).send().await.unwrap()
    }

    async fn submit(&self, body: &Value) -> reqwest::Response {
        let url = self.app.url("/api/v1/real-name");
        self.app.client.post(url).bearer_auth(&self.token).json(body).send().await.unwrap()
    }

    /// Submits with consent, expecting 200: the outcome.
    async fn verify(&self, name: &str, number: &str) -> String {
        let r = self.submit(&json!({"consent": true, "name": name, "id_number": number})).await;
        json_of(r, 200).await["outcome"].as_str().unwrap().to_string()
    }

    async fn upload(&self, parts: &[(&str, &[u8])]) -> reqwest::Response {
        let url = self.app.url("/api/v1/real-name/guardian-consent");
        let req = self.app.client.post(url).bearer_auth(&self.token).header("accept-language", "en");
        req.header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(form(parts))
            .send()
            .await
            .unwrap()
    }
}

async fn token(app: &TestApp, subject: Subject, scopes: &[Scope]) -> String {
    apitokens::create(&app.core, subject, "kyc script", scopes, 1, app.core.now()).await.unwrap().1
}

async fn json_of(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}

/// A refusal: a problem document whose `detail` is a translation, not a raw key.
async fn problem_doc(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p = json_of(r, status).await;
    let detail = p["detail"].as_str().unwrap();
    assert!(!detail.is_empty() && !detail.starts_with("invalid-") && !detail.starts_with("error-"), "{p}");
    p
}

/// A refusal's `field`.
async fn problem(r: reqwest::Response, status: u16) -> Option<String> {
    problem_doc(r, status).await["field"].as_str().map(str::to_string)
}

/// A multipart/form-data body; the document part claims to be a PDF whatever it holds.
fn form(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in parts {
        let file = if *name == "document" { "; filename=\"consent.pdf\"\r\nContent-Type: application/pdf" } else { "" };
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n").bytes());
        body.extend_from_slice(value);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    body
}

/// A guardian's consent form with `document`.
fn consent_form(document: &[u8]) -> [(&'static str, &[u8]); 3] {
    [("guardian_name", "李四".as_bytes()), ("relationship", b"mother"), ("document", document)]
}

/// Sends `body` to the upload on a connection of its own: the raw answer. The server may answer
/// and hang up before the body is all sent (an HTTP client then reports the broken pipe, not
/// the answer), so the answer is read while the body is written. `chunked` sends it as a
/// streaming client does, with no length to refuse it by up front.
async fn upload_raw(app: &TestApp, token: &str, body: &[u8], chunked: bool) -> String {
    let (length, framed) = if chunked {
        let mut framed = format!("{:x}\r\n", body.len()).into_bytes();
        framed.extend_from_slice(body);
        framed.extend(b"\r\n0\r\n\r\n");
        ("Transfer-Encoding: chunked".to_string(), framed)
    } else {
        (format!("Content-Length: {}", body.len()), body.to_vec())
    };
    let head = format!(
        "POST /api/v1/real-name/guardian-consent HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Accept-Language: en\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         {length}\r\n\r\n",
        app.addr
    );
    let (mut rx, mut tx) = tokio::net::TcpStream::connect(app.addr).await.unwrap().into_split();
    let writer = tokio::spawn(async move {
        tx.write_all(head.as_bytes()).await?;
        tx.write_all(&framed).await
    });
    let mut answer = Vec::new();
    // The connection may be reset once the answer is in; what was read is kept.
    let _ = rx.read_to_end(&mut answer).await;
    writer.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

db_test!(a_customer_verifies_and_sees_only_masked_values, |app| {
    let c = Customer::new(&app, "kyc_adult").await;
    let before = c.status().await;
    assert_eq!(
        before,
        json!({"state": "none", "document_kind": null, "name_masked": null, "number_masked": null, "outcome": null,
            "provider": "aliyun-cloudauth", "submitted_at": null, "verified_at": null,
            "guardian": {"needed": false, "consents": []}})
    );
    assert_eq!(c.verify("张三", ADULT).await, "verified");
    let after = c.status().await;
    assert_eq!(
        after,
        json!({"state": "verified", "document_kind": "mainland_id", "name_masked": "张*",
            "number_masked": "1101**********1237", "outcome": "match", "provider": "aliyun-cloudauth",
            "submitted_at": T0.0, "verified_at": T0.0, "guardian": {"needed": false, "consents": []}})
    );
    let sent = app.kyc.requests();
    assert_eq!(sent.len(), 1, "one question to the provider");
    assert_eq!((sent[0].form["UserName"].as_str(), sent[0].form["IdentifyNum"].as_str()), ("张三", ADULT));
    let consent = "SELECT COUNT(*) FROM consents WHERE purpose = 'real_name' AND given AND detail = 'aliyun-cloudauth'";
    assert_eq!(count(&app, consent).await, 1, "the consent names the provider");
    let verified = format!("SELECT COUNT(*) FROM customers WHERE id = {} AND real_name_verified_at IS NOT NULL", c.id);
    assert_eq!(count(&app, &verified).await, 1);
    let r = c.submit(&json!({"consent": true, "name": "张三", "id_number": ADULT})).await;
    assert_eq!(problem(r, 409).await, None, "verified: only staff change it");
    assert_eq!(app.kyc.requests().len(), 1);
});

db_test!(a_rejected_verification_may_be_submitted_again, |app| {
    let c = Customer::new(&app, "kyc_typo").await;
    assert_eq!(c.verify("王五", ADULT).await, "rejected");
    let s = c.status().await;
    assert_eq!(
        (s["state"].as_str(), s["outcome"].as_str(), s["verified_at"].as_i64()),
        (Some("rejected"), Some("mismatch"), None)
    );
    assert_eq!(c.verify("张三", UNKNOWN).await, "rejected");
    assert_eq!(c.status().await["outcome"], "not_found");
    assert_eq!(c.verify("张三", ADULT).await, "verified");
    assert_eq!(c.status().await["state"], "verified");
    assert_eq!(app.kyc.requests().len(), 3);
});

db_test!(a_provider_failure_leaves_it_pending_until_asked_again, |app| {
    let c = Customer::new(&app, "kyc_patient").await;
    app.kyc.faults().error_next("500");
    assert_eq!(c.verify("张三", ADULT).await, "pending");
    let s = c.status().await;
    assert_eq!(
        (s["state"].as_str(), s["outcome"].as_str()),
        (Some("pending"), None),
        "the error code is for staff: {s}"
    );
    let r = c.submit(&json!({"consent": true, "name": "张三", "id_number": ADULT})).await;
    assert_eq!(problem(r, 409).await, None, "pending: wait for the answer");
    app.clock.advance(std::time::Duration::from_secs(3600));
    assert_eq!(kyc::verify::retry_due(&app.core, app.core.now()).await.unwrap(), 1);
    assert_eq!(c.status().await["state"], "verified");
    assert_eq!(app.kyc.requests().len(), 2);
});

db_test!(refused_submissions_never_reach_the_provider, |app| {
    let c = Customer::new(&app, "kyc_sloppy").await;
    let with = |consent: bool, name: &str, number: &str| json!({"consent": consent, "name": name, "id_number": number});
    let cases = [
        (with(false, "张三", ADULT), Some("consent")),
        (with(true, "张三", "11010119900515"), Some("id_number")),
        (with(true, "张三", "11010119900515123A"), Some("id_number")),
        (with(true, "张三", "110101199005151238"), Some("id_number")),
        (with(true, "张三", UNBORN), Some("id_number")),
        (with(true, "张3", ADULT), Some("real_name")),
        (with(true, "<b>张三</b>", ADULT), Some("real_name")),
        (json!({"consent": true, "name": "张三", "id_number": ADULT, "birth_date": "1990-05-15"}), None),
        (json!({"consent": "yes", "name": "张三", "id_number": ADULT}), None),
        (json!({"name": "张三", "id_number": ADULT}), None),
    ];
    for (body, field) in cases {
        let mut details = vec![];
        for lang in ["zh-CN", "en"] {
            let req = app.client.post(app.url("/api/v1/real-name")).bearer_auth(&c.token);
            let p = problem_doc(req.header("accept-language", lang).json(&body).send().await.unwrap(), 422).await;
            assert_eq!(p["field"].as_str(), field, "{body} {lang}");
            assert!(!p.to_string().contains("<b>"), "the input is not echoed: {p}");
            details.push(p["detail"].as_str().unwrap().to_string());
        }
        assert_ne!(details[0], details[1], "translated: {details:?}");
    }
    let req = app.client.post(app.url("/api/v1/real-name")).bearer_auth(&c.token);
    let r = req.header("content-type", "application/json").body("{\"consent\": ").send().await.unwrap();
    assert_eq!(problem(r, 400).await, None);
    assert!(app.kyc.requests().is_empty(), "nothing sent");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM real_name_records").await, 0, "nothing stored");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM consents WHERE purpose = 'real_name'").await, 0, "no consent given");
    assert_eq!(c.status().await["state"], "none");
});

db_test!(a_child_under_16_has_the_account_closed_and_nothing_sent, |app| {
    let c = Customer::new(&app, "kyc_child").await;
    assert_eq!(c.verify("张小明", CHILD).await, "account_closed");
    assert!(app.kyc.requests().is_empty(), "the number never reached the provider");
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM customers WHERE id = {}", c.id)).await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM real_name_records").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM api_tokens").await, 0);
    let r = c.get().await;
    assert_eq!(r.status(), 401, "the token died with the account");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
});

db_test!(a_17_year_old_uploads_a_guardians_consent, |app| {
    let c = Customer::new(&app, "kyc_minor").await;
    assert_eq!(c.verify("张小红", MINOR).await, "verified");
    let s = c.status().await;
    assert_eq!((s["state"].as_str(), s["guardian"]["needed"].as_bool()), (Some("verified"), Some(true)));

    // Refused before anything is stored: a wrong type whatever the part claims, missing and
    // unknown parts, a body beyond the route's limit.
    assert_eq!(problem(c.upload(&consent_form(b"MZ\x90\x00 not a pdf")).await, 422).await.as_deref(), Some("document"));
    let [name, relationship, document] = consent_form(PDF);
    for (parts, field) in [
        (vec![name, relationship], "document"),
        (vec![name, document], "relationship"),
        (vec![relationship, document], "guardian_name"),
        (vec![name, ("relationship", "uncle".as_bytes()), document], "relationship"),
        (vec![("guardian_name", "Li 4".as_bytes()), relationship, document], "guardian_name"),
        (vec![name, relationship, ("document", &[])], "document"),
    ] {
        assert_eq!(problem(c.upload(&parts).await, 422).await.as_deref(), Some(field), "{field}");
    }
    let extra = [name, relationship, document, ("note", "hi".as_bytes())];
    assert_eq!(problem(c.upload(&extra).await, 422).await, None);
    let six_mb = vec![b'%'; 6 * 1024 * 1024];
    let huge = form(&consent_form(&six_mb));
    for chunked in [false, true] {
        let answer = upload_raw(&app, &c.token, &huge, chunked).await;
        assert!(answer.starts_with("HTTP/1.1 413 "), "never a 500 (chunked: {chunked}): {answer}");
        assert!(answer.contains("content-type: application/problem+json"), "{answer}");
        assert!(answer.contains("What you sent is larger than allowed."), "{answer}");
    }
    let url = app.url("/api/v1/real-name/guardian-consent");
    let r = app.client.post(url).bearer_auth(&c.token).body(PDF).send().await.unwrap();
    assert_eq!(problem(r, 400).await, None, "not multipart");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM guardian_consents").await, 0);

    // Up to 5 MB is taken; beyond, the core's size rule until the body limit answers 413.
    let mut scan = PDF.to_vec();
    scan.resize(guardian::MAX_DOCUMENT_BYTES + 1, b' ');
    assert_eq!(problem(c.upload(&consent_form(&scan)).await, 422).await.as_deref(), Some("document"), "over 5 MB");
    scan.pop();
    let filed = json_of(c.upload(&consent_form(&scan)).await, 201).await;
    let id = filed["id"].as_i64().unwrap();
    assert_eq!(filed, json!({"id": id}));
    let s = c.status().await;
    assert_eq!(
        s["guardian"],
        json!({"needed": true, "consents": [{"id": id, "relationship": "mother", "state": "pending",
            "review_reason": null, "submitted_at": T0.0}]})
    );
    assert!(!s.to_string().contains("李四"), "the guardian's name is not shown");
    assert_eq!(problem(c.upload(&consent_form(PDF)).await, 409).await, None, "one waits at a time");

    // Staff approve: nothing more is needed.
    let officer = create_staff(&app, "compliance", &[Role::Compliance]).await.0;
    let staff = Principal::Staff { id: officer, roles: vec![Role::Compliance] };
    guardian::review(&app.core, &staff, id, true, "signed by the mother", &Default::default(), app.core.now())
        .await
        .unwrap();
    let s = c.status().await;
    assert_eq!(
        (s["guardian"]["needed"].as_bool(), s["guardian"]["consents"][0]["state"].as_str()),
        (Some(false), Some("approved"))
    );
});

db_test!(an_adult_needs_no_guardian_and_another_may_not_reuse_the_number, |app| {
    let c = Customer::new(&app, "kyc_grown").await;
    let r = c.upload(&consent_form(PDF)).await;
    assert_eq!(problem(r, 422).await.as_deref(), Some("document"), "not verified");
    assert_eq!(c.verify("张三", ADULT).await, "verified");
    let r = c.upload(&consent_form(PDF)).await;
    assert_eq!(problem(r, 422).await.as_deref(), Some("document"), "an adult");
    let other = Customer::new(&app, "kyc_twin").await;
    let r = other.submit(&json!({"consent": true, "name": "张三", "id_number": ADULT})).await;
    assert_eq!(problem(r, 422).await.as_deref(), Some("id_number"), "one account per number");
    assert_eq!(other.verify("王芳", OTHER_ADULT).await, "verified");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM guardian_consents").await, 0);
});

db_test!(staff_read_only_and_missing_tokens_are_refused, |app| {
    let c = Customer::new(&app, "kyc_reader").await;
    let read_only = token(&app, accounts::subject(c.id), &[Scope::Read]).await;
    let member = create_staff(&app, "kyc_owner", &[Role::Owner]).await.0;
    let staff = token(&app, Subject::staff(member), &[Scope::Read, Scope::Write]).await;
    let body = json!({"consent": true, "name": "张三", "id_number": ADULT});
    for (token, get, post) in [(read_only.as_str(), 200, 403), (staff.as_str(), 403, 403), ("lt_nothing", 401, 401)] {
        let caller = Customer { app: &app, id: c.id, token: token.to_string() };
        assert_eq!(caller.get().await.status(), get, "{token}");
        for r in [caller.submit(&body).await, caller.upload(&consent_form(PDF)).await] {
            assert_eq!(r.status(), post, "{token}");
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
    }
    let r = app.client.get(app.url("/api/v1/real-name")).send().await.unwrap();
    assert_eq!(problem(r, 401).await, None);
    let r = app.client.post(app.url("/api/v1/real-name")).bearer_auth(&staff).json(&body).send().await.unwrap();
    let p = json_of(r, 403).await;
    assert_eq!(p["title"], "拒绝访问", "zh-CN by default: {p}");
    assert!(app.kyc.requests().is_empty());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM real_name_records").await, 0);
});

db_test!(the_openapi_document_lists_the_real_name_routes, |app| {
    let doc = json_of(app.get("/api/v1/openapi.json").await, 200).await;
    for (path, method) in
        [("/api/v1/real-name", "get"), ("/api/v1/real-name", "post"), ("/api/v1/real-name/guardian-consent", "post")]
    {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} documented");
        assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
    }
    let submit = doc["paths"]["/api/v1/real-name"]["post"]["description"].as_str().unwrap();
    assert!(submit.contains("HTTPS") && submit.contains("`consent` must be true"), "{submit}");
    let upload = &doc["paths"]["/api/v1/real-name/guardian-consent"]["post"];
    assert!(upload["requestBody"]["content"]["multipart/form-data"].is_object());
    assert!(upload["responses"]["413"].is_object());
    for schema in
        ["RealNameStatus", "RealNameRequest", "RealNameSubmitted", "GuardianConsentForm", "GuardianConsentFiled"]
    {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
});
