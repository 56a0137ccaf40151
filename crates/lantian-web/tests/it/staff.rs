//! The staff console: sign-in with TOTP, roles, the audited reveal, deactivation, sessions.

use std::time::Duration;

use lantian_core::authz::Role;
use lantian_core::{audit, on_read};

use crate::helpers::{create_staff, csrf_of, first_sign_in, form_value, sign_in, text_of};

db_test!(clause_c5_2_only_authorised_staff_reach_the_console, |app| {
    let (_, owner_pw) = create_staff(&app, "boss", &[Role::Owner]).await;
    let (_, support_pw) = create_staff(&app, "helper", &[Role::Support]).await;
    // Signed out: every console page sends you to sign in.
    for path in ["/staff", "/staff/team", "/staff/audit", "/staff/jobs", "/staff/tokens", "/staff/profile"] {
        let r = app.get(path).await;
        assert_eq!(r.headers()["location"], "/staff/login", "{path}");
    }
    let owner = app.new_client();
    first_sign_in(&app, &owner, "boss", &owner_pw).await;
    for path in
        ["/staff", "/staff/team", "/staff/audit", "/staff/jobs", "/staff/tokens", "/staff/profile", "/staff/notices"]
    {
        assert_eq!(owner.get(app.url(path)).send().await.unwrap().status(), 200, "owner: {path}");
    }
    let support = app.new_client();
    first_sign_in(&app, &support, "helper", &support_pw).await;
    let home = support.get(app.url("/staff")).send().await.unwrap().text().await.unwrap();
    assert!(
        !home.contains("href=\"/staff/audit\"") && !home.contains("href=\"/staff/team\""),
        "the menu shows only what the role may do"
    );
    for path in ["/staff/team", "/staff/audit", "/staff/jobs"] {
        assert_eq!(support.get(app.url(path)).send().await.unwrap().status(), 403, "support: {path}");
    }
    // A form of another session's token is refused.
    let csrf = csrf_of(&app, &support).await;
    let r = owner.post(app.url("/staff/team/2/deactivate")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 403);
});

db_test!(a_wrong_password_and_an_unknown_user_get_the_same_answer, |app| {
    create_staff(&app, "boss", &[Role::Owner]).await;
    let a = app
        .client
        .post(app.url("/staff/login"))
        .form(&[("username", "boss"), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    let b = app
        .client
        .post(app.url("/staff/login"))
        .form(&[("username", "nobody"), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    assert_eq!((a.status(), b.status()), (reqwest::StatusCode::UNAUTHORIZED, reqwest::StatusCode::UNAUTHORIZED));
    assert!(
        !a.headers().contains_key("set-cookie") && !b.headers().contains_key("set-cookie"),
        "no session for a failed sign-in"
    );
    let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
    assert!(a.contains("用户名或密码错误") && b.contains("用户名或密码错误"));
});

db_test!(a_totp_code_works_once_and_recovery_codes_once_each, |app| {
    let (_, pw) = create_staff(&app, "boss", &[Role::Owner]).await;
    let c = app.new_client();
    let secret = first_sign_in(&app, &c, "boss", &pw).await;
    // Same code again in the same time step: refused (replay).
    let c2 = app.new_client();
    let r = c2
        .post(app.url("/staff/login"))
        .form(&[("username", "boss"), ("password", crate::helpers::STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = c2.get(app.url("/staff/login/second-factor")).send().await.unwrap().text().await.unwrap();
    assert!(text_of(&page, "totp-secret").is_none(), "no new enrolment once enabled");
    let csrf = form_value(&page, "csrf").unwrap();
    let code = lantian_core::totp::code_at(&secret, app.core.now()).unwrap();
    let r = c2
        .post(app.url("/staff/login/second-factor"))
        .form(&[("code", code.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("验证码不正确或已使用过"), "a replayed code is refused");
    assert_eq!(c2.get(app.url("/staff")).send().await.unwrap().headers()["location"], "/staff/login/second-factor");
    // A fresh step works.
    app.clock.advance(Duration::from_secs(30));
    let code = lantian_core::totp::code_at(&secret, app.core.now()).unwrap();
    let r = c2
        .post(app.url("/staff/login/second-factor"))
        .form(&[("code", code.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff");
    assert_eq!(c2.get(app.url("/staff")).send().await.unwrap().status(), 200);
});

db_test!(clause_c5_2_revealing_personal_data_needs_a_reason_and_is_audited, |app| {
    let (_, pw) = create_staff(&app, "boss", &[Role::Owner]).await;
    let (other, _) = create_staff(&app, "clerk", &[Role::Billing]).await;
    let c = app.new_client();
    first_sign_in(&app, &c, "boss", &pw).await;
    let team = c.get(app.url("/staff/team")).send().await.unwrap().text().await.unwrap();
    assert!(team.contains("c***@staff.example") && !team.contains("clerk@staff.example"), "masked by default");
    let csrf = csrf_of(&app, &c).await;
    let url = app.url(&format!("/staff/team/{other}/reveal"));
    let r = c.post(&url).form(&[("reason", "x"), ("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 422, "a reason is required");
    let reveals = |app: &crate::helpers::TestApp| {
        let db = app.core.db.clone();
        async move {
            on_read!(&db, c => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE action = 'personal_data.reveal'").fetch_one(c).await.unwrap())
        }
    };
    assert_eq!(reveals(&app).await, 0, "nothing revealed, nothing recorded");
    let r = c
        .post(&url)
        .form(&[("reason", "ticket 1234: confirm billing contact"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("clerk@staff.example"));
    assert_eq!(reveals(&app).await, 1);
    let audit = c.get(app.url("/staff/audit?action=personal_data")).send().await.unwrap().text().await.unwrap();
    assert!(
        audit.contains("personal_data.reveal")
            && audit.contains(&format!("staff:{other}"))
            && audit.contains("ticket 1234")
    );
    assert!(!audit.contains("clerk@staff.example"), "the trail holds no personal values");
    assert_eq!(
        audit::verify(&app.core.db).await.unwrap(),
        audit::Verdict::Intact { rows: 5 },
        "two creations, an enrolment, a password change, a reveal"
    );
});

db_test!(deactivation_ends_sessions_and_api_tokens_at_once, |app| {
    let (_, owner_pw) = create_staff(&app, "boss", &[Role::Owner]).await;
    let (member, member_pw) = create_staff(&app, "leaver", &[Role::Support]).await;
    let owner = app.new_client();
    first_sign_in(&app, &owner, "boss", &owner_pw).await;
    let leaver = app.new_client();
    first_sign_in(&app, &leaver, "leaver", &member_pw).await;
    let csrf = csrf_of(&app, &leaver).await;
    let page = leaver
        .post(app.url("/staff/tokens"))
        .form(&[("name", "cli"), ("days", "30"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let token = text_of(&page.text().await.unwrap(), "new-token").unwrap();
    let me = |t: String| app.client.get(app.url("/api/v1/me")).bearer_auth(t).send();
    let r = me(token.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!((body["kind"].as_str(), body["id"].as_i64()), (Some("staff"), Some(member)));

    let csrf = csrf_of(&app, &owner).await;
    let r = owner
        .post(app.url(&format!("/staff/team/{member}/deactivate")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(leaver.get(app.url("/staff")).send().await.unwrap().headers()["location"], "/staff/login");
    assert_eq!(me(token).await.unwrap().status(), 401);
    let r = leaver
        .post(app.url("/staff/login"))
        .form(&[("username", "leaver"), ("password", crate::helpers::STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a deactivated member cannot sign in");
});

db_test!(forged_expired_and_signed_out_sessions_are_refused, |app| {
    let (_, pw) = create_staff(&app, "boss", &[Role::Owner]).await;
    let forged = app.new_client();
    let r = forged
        .get(app.url("/staff"))
        .header("cookie", "lantian_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff/login");
    let c = app.new_client();
    let secret = first_sign_in(&app, &c, "boss", &pw).await;
    app.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(c.get(app.url("/staff")).send().await.unwrap().status(), 200, "still inside the idle time-out");
    app.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(
        c.get(app.url("/staff")).send().await.unwrap().headers()["location"],
        "/staff/login",
        "idle for 31 minutes"
    );
    sign_in(&app, &c, "boss", &secret).await;
    let csrf = csrf_of(&app, &c).await;
    let r = c.post(app.url("/staff/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(c.get(app.url("/staff")).send().await.unwrap().headers()["location"], "/staff/login");
});

db_test!(clause_c2_2_the_site_sets_only_the_session_and_preference_cookies, |app| {
    let (_, pw) = create_staff(&app, "boss", &[Role::Owner]).await;
    let mut names = std::collections::BTreeSet::new();
    let mut note = |r: &reqwest::Response| {
        for v in r.headers().get_all("set-cookie") {
            names.insert(v.to_str().unwrap().split('=').next().unwrap().to_string());
        }
    };
    let pages = [
        "/",
        "/account",
        "/staff/login",
        "/api/v1/regions",
        "/api/v1/openapi.json",
        "/healthz",
        "/missing",
        "/static/app.css",
    ];
    let visitor = app.new_client();
    for p in pages {
        note(&visitor.get(app.url(p)).send().await.unwrap());
    }
    note(&visitor.post(app.url("/preferences")).form(&[("lang", "en"), ("theme", "dark")]).send().await.unwrap());
    note(&visitor.post(app.url("/staff/login")).form(&[("username", "boss"), ("password", &pw)]).send().await.unwrap());
    let staff = app.new_client();
    first_sign_in(&app, &staff, "boss", &pw).await;
    for p in pages.iter().chain(&[
        "/staff",
        "/staff/team",
        "/staff/audit",
        "/staff/jobs",
        "/staff/tokens",
        "/staff/profile",
        "/staff/notices",
    ]) {
        note(&staff.get(app.url(p)).send().await.unwrap());
    }
    // The sign-in steps set cookies too: replay one to see them.
    let again = app.new_client();
    note(
        &again
            .post(app.url("/staff/login"))
            .form(&[("username", "boss"), ("password", crate::helpers::STAFF_PASSWORD)])
            .send()
            .await
            .unwrap(),
    );
    let allowed: std::collections::BTreeSet<String> =
        ["lantian_session", "lantian_prefs"].iter().map(|s| s.to_string()).collect();
    assert!(names.is_subset(&allowed), "unexpected cookies: {names:?}");
    assert!(names.contains("lantian_session") && names.contains("lantian_prefs"), "{names:?}");
});
