//! Customer accounts: sign-up, verification, sign-in defences, remember-me, reset, e-mail
//! change, optional data, cookies.

use std::time::Duration;

use lantian_core::on_read;
use reqwest::StatusCode;

use crate::helpers::{TestApp, text_of};

const PASSWORD: &str = "violet-harbour-trellis-19";

async fn register(app: &TestApp, c: &reqwest::Client, username: &str, email: &str, age: &str) -> reqwest::Response {
    let form = [("username", username), ("email", email), ("password", PASSWORD), ("age", age), ("accept", "1")];
    c.post(app.url("/register")).form(&form).send().await.unwrap()
}

/// Runs the outbox and returns the token of the newest link to `path` mailed to `to`.
async fn mailed_token(app: &TestApp, to: &str, path: &str) -> String {
    app.worker().drain().await.unwrap();
    let m =
        app.smtp.messages().into_iter().rev().find(|m| m.rcpt_to.iter().any(|r| r == to) && m.text_body.contains(path));
    let body = m.unwrap_or_else(|| panic!("no mail to {to} with {path}")).text_body;
    let at = body.find("token=").unwrap() + 6;
    body[at..at + 43].to_string()
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    on_read!(&app.core.db, c => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await.unwrap())
}

/// A verified customer signed in on a fresh client.
async fn customer(app: &TestApp, username: &str) -> reqwest::Client {
    let c = app.new_client();
    let email = format!("{username}@mail.example");
    assert_eq!(register(app, &c, username, &email, "adult").await.status(), 200);
    let token = mailed_token(app, &email, "/verify-email").await;
    assert_eq!(c.get(app.url(&format!("/verify-email?token={token}"))).send().await.unwrap().status(), 200);
    login(app, &c, username, PASSWORD).await;
    c
}

async fn login(app: &TestApp, c: &reqwest::Client, who: &str, password: &str) -> reqwest::Response {
    let r = c.post(app.url("/login")).form(&[("login", who), ("password", password)]).send().await.unwrap();
    assert_eq!(r.status(), 303, "signed in as {who}");
    r
}

db_test!(clause_c1_1_sign_up_verifies_the_email_and_keeps_only_a_slow_hash, |app| {
    let c = app.new_client();
    let r = register(&app, &c, "Alice_1", "  Alice@Mail.Example ", "adult").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("请查收验证邮件"));
    let hash: String = on_read!(&app.core.db, c => sqlx::query_scalar("SELECT password_hash FROM customers").fetch_one(c).await.unwrap());
    assert!(hash.starts_with("$argon2id$") && !hash.contains(PASSWORD));
    let consents: Vec<String> = on_read!(&app.core.db, c => sqlx::query_scalar("SELECT purpose FROM consents ORDER BY id").fetch_all(c).await.unwrap());
    assert_eq!(consents, vec!["privacy_policy", "hk_storage_notice"]);
    let token = mailed_token(&app, "alice@mail.example", "/verify-email").await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM account_links").await, 1);
    let payloads: Vec<String> =
        on_read!(&app.core.db, c => sqlx::query_scalar("SELECT payload FROM jobs").fetch_all(c).await.unwrap());
    assert!(payloads.iter().all(|p| !p.contains(&token)), "the link is in no job");
    let links: Vec<String> = on_read!(&app.core.db, c => sqlx::query_scalar("SELECT token_hash FROM account_links").fetch_all(c).await.unwrap());
    assert!(!links[0].contains(&token), "only the hash is stored");
    let r = c.get(app.url(&format!("/verify-email?token={token}"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers WHERE email_verified_at IS NOT NULL").await, 1);
    let again = c.get(app.url(&format!("/verify-email?token={token}"))).send().await.unwrap();
    assert_eq!(again.status(), 422, "a link works once");
    // Username and e-mail are unique without regard to case.
    let r = register(&app, &app.new_client(), "alice_1", "other@mail.example", "adult").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("已被使用"));
    // Sign-in by username or by e-mail.
    login(&app, &app.new_client(), "ALICE_1", PASSWORD).await;
    login(&app, &app.new_client(), "alice@mail.example", PASSWORD).await;
});

db_test!(an_under_16_declaration_stores_nothing, |app| {
    let r = register(&app, &app.new_client(), "kiddo", "kid@mail.example", "child").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("没有保存"));
    for sql in [
        "SELECT COUNT(*) FROM customers",
        "SELECT COUNT(*) FROM consents",
        "SELECT COUNT(*) FROM jobs",
        "SELECT COUNT(*) FROM audit_log",
    ] {
        assert_eq!(count(&app, sql).await, 0, "{sql}");
    }
});

db_test!(bad_sign_up_input_is_refused_next_to_the_field_and_stores_nothing, |app| {
    let c = app.new_client();
    let cases: [(&str, &str, &str, &str); 6] = [
        ("a", "a@mail.example", PASSWORD, "username-error"),
        ("<script>alert(1)</script>", "a@mail.example", PASSWORD, "username-error"),
        ("bob", "not-an-address", PASSWORD, "email-error"),
        ("bob", "bob@mail.example", "short", "password-error"),
        ("bob", "bob@mail.example", "password123", "password-error"),
        ("bob", "bob@mail.example", "bob-bob-bob-bob-x", "password-error"),
    ];
    for (u, e, p, field) in cases {
        let form = [("username", u), ("email", e), ("password", p), ("age", "adult"), ("accept", "1")];
        let r = c.post(app.url("/register")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 422, "{u} {e} {p}");
        let page = r.text().await.unwrap();
        assert!(page.contains(&format!("id=\"{field}\"")), "{field}: {page}");
        assert!(!page.contains("<script>alert"), "nothing echoed unescaped");
    }
    let long = "x".repeat(300);
    let r = c
        .post(app.url("/register"))
        .form(&[("username", long.as_str()), ("email", "a@b.example"), ("password", PASSWORD), ("age", "adult")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = c
        .post(app.url("/register"))
        .form(&[("username", "bob"), ("email", "b@b.example"), ("password", PASSWORD), ("age", "elderly")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = c
        .post(app.url("/register"))
        .form(&[("username", "bob"), ("email", "b@b.example"), ("password", PASSWORD), ("age", "adult")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "the policy must be accepted");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM customers").await, 0);
});

db_test!(clause_c1_7_repeated_failures_lock_out_alike_for_known_and_unknown_names, |app| {
    let _c = customer(&app, "victim").await;
    let attacker = app.new_client();
    for name in ["victim", "nobody_here"] {
        for i in 0..5 {
            let r = attacker
                .post(app.url("/login"))
                .form(&[("login", name), ("password", "wrong guess")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name} attempt {i}");
        }
        let r = attacker.post(app.url("/login")).form(&[("login", name), ("password", PASSWORD)]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{name}: locked, even with the right password");
        assert!(r.headers().contains_key("retry-after"));
    }
    app.worker().drain().await.unwrap();
    let locked = app.smtp.messages().into_iter().filter(|m| m.subject.contains("账户已暂时锁定")).count();
    assert_eq!(locked, 1, "the owner of the real account hears of it; nobody else gets mail");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'security.lockout'").await, 1);
    app.clock.advance(Duration::from_secs(16 * 60));
    login(&app, &app.new_client(), "victim", PASSWORD).await;
});

db_test!(a_sign_in_from_a_new_device_is_reported_to_the_owner, |app| {
    let _c = customer(&app, "traveller").await;
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15")
        .build()
        .unwrap();
    login(&app, &other, "traveller", PASSWORD).await;
    app.worker().drain().await.unwrap();
    let alert = app.smtp.messages().into_iter().find(|m| m.subject.contains("新设备登录")).expect("alert mail");
    assert!(alert.text_body.contains("Safari"), "{}", alert.text_body);
    // The same device again is not news.
    login(&app, &other, "traveller", PASSWORD).await;
    app.worker().drain().await.unwrap();
    assert_eq!(app.smtp.messages().iter().filter(|m| m.subject.contains("新设备登录")).count(), 1);
});

db_test!(devices_are_listed_and_one_can_end_another, |app| {
    let a = customer(&app, "twofold").await;
    let b = app.new_client();
    login(&app, &b, "twofold", PASSWORD).await;
    let page = a.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    assert_eq!(page.matches("/end\"").count(), 1, "the other session can be ended from here, this one not");
    let id = {
        let at = page.find("/account/sessions/").unwrap() + "/account/sessions/".len();
        page[at..at + page[at..].find('/').unwrap()].to_string()
    };
    let r = a.post(app.url(&format!("/account/sessions/{id}/end"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = a.post(app.url("/account/sessions/end-all")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(b.get(app.url("/account")).send().await.unwrap().headers()["location"], "/login");
    assert_eq!(a.get(app.url("/account")).send().await.unwrap().status(), 200, "the current device stays");
});

db_test!(two_step_verification_is_enabled_from_the_account_and_then_required, |app| {
    let c = customer(&app, "careful").await;
    let page =
        c.post(app.url("/account/security/totp")).form(&[("code", "")]).send().await.unwrap().text().await.unwrap();
    let secret = text_of(&page, "totp-secret").unwrap();
    let code = lantian_core::totp::code_at(&secret, app.core.now()).unwrap();
    let page = c
        .post(app.url("/account/security/totp"))
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"recovery-codes\""));
    let fresh = app.new_client();
    let r = login(&app, &fresh, "careful", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/login/second-factor");
    assert_eq!(fresh.get(app.url("/account")).send().await.unwrap().headers()["location"], "/login/second-factor");
    app.clock.advance(Duration::from_secs(30));
    let code = lantian_core::totp::code_at(&secret, app.core.now()).unwrap();
    let r = fresh.post(app.url("/login/second-factor")).form(&[("code", code.as_str())]).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/account");
    assert_eq!(fresh.get(app.url("/account")).send().await.unwrap().status(), 200);
});

db_test!(remember_me_rotates_and_a_reused_token_revokes_the_family, |app| {
    let _ = customer(&app, "keeper").await;
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = c
        .post(app.url("/login"))
        .form(&[("login", "keeper"), ("password", PASSWORD), ("remember", "1")])
        .send()
        .await
        .unwrap();
    let cookie_of = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v[name.len() + 1..v.find(';').unwrap()].to_string())
    };
    let first = cookie_of(&r, "lantian_remember").expect("remember cookie");
    assert_eq!(first.len(), 43, "an identifier only");
    // The session is gone (browser closed); the remember cookie signs in again, rotated.
    let r = c.get(app.url("/account")).header("cookie", format!("lantian_remember={first}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let second = cookie_of(&r, "lantian_remember").unwrap();
    assert_ne!(first, second);
    let session = cookie_of(&r, "lantian_session").unwrap();
    // The old token again: someone copied it. The family dies with its sessions.
    let r = c.get(app.url("/account")).header("cookie", format!("lantian_remember={first}")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/login");
    let r = c.get(app.url("/account")).header("cookie", format!("lantian_remember={second}")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/login", "the newer token is revoked too");
    let r = c.get(app.url("/account")).header("cookie", format!("lantian_session={session}")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/login", "and its session");
    app.worker().drain().await.unwrap();
    assert!(app.smtp.messages().iter().any(|m| m.subject.contains("登录凭证被重复使用")));
});

db_test!(a_password_reset_link_works_once_within_30_minutes_and_ends_every_session, |app| {
    let signed_in = customer(&app, "forgetful").await;
    let anon = app.new_client();
    let r = anon.post(app.url("/forgot-password")).form(&[("email", "forgetful@mail.example")]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let same = anon.post(app.url("/forgot-password")).form(&[("email", "stranger@mail.example")]).send().await.unwrap();
    assert_eq!(same.status(), 200, "the same answer for an address without an account");
    let token = mailed_token(&app, "forgetful@mail.example", "/reset-password").await;
    let new_password = "quiet-lantern-meadow-77";
    let r = anon
        .post(app.url("/reset-password"))
        .form(&[("token", token.as_str()), ("password", "weak")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a weak password is refused and the link stays usable");
    let r = anon
        .post(app.url("/reset-password"))
        .form(&[("token", token.as_str()), ("password", new_password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(signed_in.get(app.url("/account")).send().await.unwrap().headers()["location"], "/login");
    let r = anon
        .post(app.url("/reset-password"))
        .form(&[("token", token.as_str()), ("password", "another-fine-phrase-31")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "single use");
    login(&app, &app.new_client(), "forgetful", new_password).await;
    anon.post(app.url("/forgot-password")).form(&[("email", "forgetful@mail.example")]).send().await.unwrap();
    let late = mailed_token(&app, "forgetful@mail.example", "/reset-password").await;
    app.clock.advance(Duration::from_secs(31 * 60));
    let r = anon
        .post(app.url("/reset-password"))
        .form(&[("token", late.as_str()), ("password", "another-fine-phrase-31")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "expired after 30 minutes");
});

db_test!(an_email_change_takes_effect_only_from_the_new_address_and_tells_the_old, |app| {
    let c = customer(&app, "mover").await;
    let r = c.post(app.url("/account/security")).form(&[("email", "mover@new.example")]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let email: String =
        on_read!(&app.core.db, c => sqlx::query_scalar("SELECT email FROM customers").fetch_one(c).await.unwrap());
    assert_eq!(email, "mover@mail.example", "nothing changes before confirmation");
    let token = mailed_token(&app, "mover@new.example", "/confirm-email").await;
    assert_eq!(c.get(app.url(&format!("/confirm-email?token={token}"))).send().await.unwrap().status(), 200);
    let email: String =
        on_read!(&app.core.db, c => sqlx::query_scalar("SELECT email FROM customers").fetch_one(c).await.unwrap());
    assert_eq!(email, "mover@new.example");
    app.worker().drain().await.unwrap();
    assert!(
        app.smtp
            .messages()
            .iter()
            .any(|m| m.rcpt_to == vec!["mover@mail.example".to_string()] && m.subject.contains("邮箱已更改"))
    );
});

db_test!(clause_c1_6_optional_data_can_stay_empty_change_and_be_cleared, |app| {
    let c = customer(&app, "optional").await;
    assert_eq!(c.get(app.url("/account/profile")).send().await.unwrap().status(), 200);
    let form = [
        ("phone", "138 1234 5678"),
        ("qq", "123456789"),
        ("country", "中国"),
        ("province", "广东"),
        ("city", "深圳"),
        ("lang", "zh-CN"),
        ("sms", "1"),
    ];
    assert_eq!(c.post(app.url("/account/profile")).form(&form).send().await.unwrap().status(), 303);
    let row: (Option<String>, Option<String>, Option<String>) = on_read!(&app.core.db, c => sqlx::query_as("SELECT phone, qq, city FROM customers").fetch_one(c).await.unwrap());
    assert!(
        row.0.as_deref().unwrap().starts_with("v1.") && !row.0.as_deref().unwrap().contains("5678"),
        "the phone is sealed"
    );
    assert_eq!((row.1.as_deref(), row.2.as_deref()), (Some("123456789"), Some("深圳")));
    let consent: (bool, String) = on_read!(&app.core.db, c => sqlx::query_as("SELECT given, detail FROM consents WHERE purpose = 'sms_notices'").fetch_one(c).await.unwrap());
    assert!(consent.0 && consent.1.contains("Aliyun"), "the consent names the SMS vendor: {}", consent.1);
    let page = c.get(app.url("/account/profile")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("138****5678") && !page.contains("13812345678"), "shown masked");
    for bad in [[("qq", "12ab")], [("city", "<b>x</b>")], [("phone", "12345")]] {
        let r = c.post(app.url("/account/profile")).form(&bad).send().await.unwrap();
        assert_eq!(r.status(), 422, "{bad:?}");
    }
    let clear = [("remove_phone", "1"), ("qq", ""), ("country", ""), ("province", ""), ("city", ""), ("lang", "en")];
    assert_eq!(c.post(app.url("/account/profile")).form(&clear).send().await.unwrap().status(), 303);
    let row: (Option<String>, Option<String>, Option<String>, String) = on_read!(&app.core.db, c => sqlx::query_as("SELECT phone, qq, city, lang FROM customers").fetch_one(c).await.unwrap());
    assert_eq!((row.0, row.1, row.2, row.3.as_str()), (None, None, None, "en"), "cleared values are gone");
    let standing: bool = on_read!(&app.core.db, c => sqlx::query_scalar("SELECT given FROM consents WHERE purpose = 'sms_notices' ORDER BY id DESC LIMIT 1").fetch_one(c).await.unwrap());
    assert!(!standing, "no phone, no SMS consent");
    assert_eq!(c.get(app.url("/account")).send().await.unwrap().status(), 200, "nothing requires the optional data");
});

db_test!(clause_c2_1_cookies_hold_only_identifiers_and_settings, |app| {
    let _ = customer(&app, "crumbs").await;
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut values = vec![];
    let r = c
        .post(app.url("/login"))
        .form(&[("login", "crumbs"), ("password", PASSWORD), ("remember", "1")])
        .send()
        .await
        .unwrap();
    values.extend(r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()));
    let r = c
        .post(app.url("/preferences"))
        .form(&[("lang", "en"), ("theme", "dark"), ("density", "compact")])
        .send()
        .await
        .unwrap();
    values.extend(r.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()));
    for v in &values {
        let (name, rest) = v.split_once('=').unwrap();
        let value = &rest[..rest.find(';').unwrap()];
        match name {
            "lantian_session" | "lantian_remember" => {
                assert!(
                    value.len() == 43 && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                    "{v}"
                )
            }
            "lantian_prefs" => {
                // Settings only: theme, density, language.
                for part in value.split('&') {
                    let (k, _) = part.split_once(':').unwrap();
                    assert!(["theme", "density", "lang"].contains(&k), "{v}");
                }
            }
            other => panic!("unexpected cookie {other}"),
        }
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax"), "{v}");
    }
    assert!(values.iter().any(|v| v.starts_with("lantian_prefs=theme:dark&density:compact&lang:en;")), "{values:?}");
    let page = app.get("/cookies").await.text().await.unwrap();
    for name in ["lantian_session", "lantian_remember", "lantian_prefs"] {
        assert!(page.contains(name));
    }
});

db_test!(clause_c2_3_without_cookies_the_site_still_works, |app| {
    let _ = customer(&app, "nocookies").await;
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/", "/cookies", "/privacy", "/register", "/login", "/api/v1/regions"] {
        assert_eq!(c.get(app.url(path)).send().await.unwrap().status(), 200, "{path}");
    }
    let login_page = c.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login_page.contains("id=\"cookie-note\"") && login_page.contains("会话 Cookie"));
    let r = c.post(app.url("/login")).form(&[("login", "nocookies"), ("password", PASSWORD)]).send().await.unwrap();
    assert_eq!(r.status(), 303, "the sign-in itself works");
    let r = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/login", "the cost is only signing in again");
});

db_test!(unverified_accounts_are_deleted_after_30_days, |app| {
    register(&app, &app.new_client(), "lazy", "lazy@mail.example", "adult").await;
    let _ = customer(&app, "diligent").await;
    app.clock.advance(Duration::from_secs(31 * 86_400));
    app.worker().run_periodic(&mut Default::default()).await.unwrap();
    let names: Vec<String> =
        on_read!(&app.core.db, c => sqlx::query_scalar("SELECT username FROM customers").fetch_all(c).await.unwrap());
    assert_eq!(names, vec!["diligent"]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM consents").await, 2, "the deleted account's consents went too");
});

db_test!(the_api_gives_tokens_for_credentials_and_manages_the_account, |app| {
    let _ = customer(&app, "apiuser").await;
    let c = app.new_client();
    let r = c
        .post(app.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"login": "apiuser", "password": "nope-nope-nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = c
        .post(app.url("/api/v1/auth/token"))
        .body("{broken")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = c
        .post(app.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"login": "apiuser@mail.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let me: serde_json::Value =
        c.get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["kind"].as_str(), me["account"]["username"].as_str()), (Some("customer"), Some("apiuser")));
    let r = c
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"lang": "en", "qq": "10001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: serde_json::Value = r.json().await.unwrap();
    assert_eq!((me["account"]["lang"].as_str(), me["account"]["qq"].as_str()), (Some("en"), Some("10001")));
    let r = c
        .patch(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"lang": "fr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["field"], "lang");
    let sessions: serde_json::Value =
        c.get(app.url("/api/v1/me/sessions")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let sid = sessions[0]["id"].as_i64().unwrap();
    assert_eq!(
        c.delete(app.url(&format!("/api/v1/me/sessions/{sid}"))).bearer_auth(&token).send().await.unwrap().status(),
        204
    );
    assert_eq!(
        c.delete(app.url(&format!("/api/v1/me/sessions/{sid}"))).bearer_auth(&token).send().await.unwrap().status(),
        404
    );
    let doc: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for path in ["/api/v1/auth/token", "/api/v1/me", "/api/v1/me/sessions", "/api/v1/me/sessions/{id}"] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
});

db_test!(clause_c2_2_a_customer_gets_only_the_three_cookies, |app| {
    let c = customer(&app, "crawler").await;
    let mut names = std::collections::BTreeSet::new();
    let mut note = |r: &reqwest::Response| {
        for v in r.headers().get_all("set-cookie") {
            names.insert(v.to_str().unwrap().split('=').next().unwrap().to_string());
        }
    };
    note(
        &c.post(app.url("/login"))
            .form(&[("login", "crawler"), ("password", PASSWORD), ("remember", "1")])
            .send()
            .await
            .unwrap(),
    );
    for p in [
        "/",
        "/account",
        "/account/profile",
        "/account/security",
        "/account/tokens",
        "/cookies",
        "/privacy",
        "/register",
        "/login",
        "/forgot-password",
    ] {
        note(&c.get(app.url(p)).send().await.unwrap());
    }
    note(&c.post(app.url("/preferences")).form(&[("theme", "light")]).send().await.unwrap());
    note(&c.post(app.url("/account/profile")).form(&[("qq", "12345"), ("lang", "zh-CN")]).send().await.unwrap());
    note(&c.post(app.url("/logout")).send().await.unwrap());
    let allowed: std::collections::BTreeSet<String> =
        ["lantian_session", "lantian_remember", "lantian_prefs"].iter().map(|s| s.to_string()).collect();
    assert_eq!(names, allowed, "exactly the session, remember-me and preference cookies");
});

db_test!(the_account_language_setting_decides_the_pages_after_sign_in, |app| {
    let c = customer(&app, "polyglot").await;
    let r = c.post(app.url("/account/profile")).form(&[("lang", "en")]).send().await.unwrap();
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("lang:en"));
    // Another device whose browser asks for Chinese: after sign-in, English, as the account says.
    let other = app.new_client();
    login(&app, &other, "polyglot", PASSWORD).await;
    let page =
        other.get(app.url("/account")).header("accept-language", "zh-CN").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<html lang=\"en\""), "the account's language wins");
    // Choosing a language while signed in changes the account's setting too.
    other.post(app.url("/preferences")).form(&[("lang", "zh-CN")]).send().await.unwrap();
    let lang: String =
        on_read!(&app.core.db, c => sqlx::query_scalar("SELECT lang FROM customers").fetch_one(c).await.unwrap());
    assert_eq!(lang, "zh-CN");
});
