//! The access log (C1.7, C5.4): one row per request with IP, browser, OS, time, page (query
//! redacted), status and latency; sign-in events; retention of at least six months (monthly
//! partitions on PostgreSQL); back-pressure instead of lost rows; the console's search.

use std::collections::HashMap;
use std::time::Duration;

use lantian_core::accesslog::{self, AccessEvent, Entry, LogRow};
use lantian_core::authz::{Role, Subject};
use lantian_core::config::Config;
use lantian_core::db::DbKind;
use lantian_core::{UnixMs, on_read};

use crate::helpers::{T0, TestApp, create_staff, csrf_of, first_sign_in, spawn_app, test_config};

const CHROME_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const FIREFOX_ON_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const DAY: Duration = Duration::from_secs(86_400);

/// Every row, oldest first, once everything queued so far is written.
async fn rows(app: &TestApp) -> Vec<LogRow> {
    app.access_log.flush().await;
    const SQL: &str = "SELECT id, at, ip, browser, os, method, path, status, latency_us, subject_kind, subject_id, \
         event, request_id FROM access_log ORDER BY id";
    on_read!(&app.core.db, c => sqlx::query_as(SQL).fetch_all(c).await.unwrap())
}

fn subject_of(r: &LogRow) -> Option<Subject> {
    match (r.subject_kind.as_deref(), r.subject_id) {
        (Some("staff"), Some(id)) => Some(Subject::staff(id)),
        (Some("customer"), Some(id)) => Some(Subject::customer(id)),
        _ => None,
    }
}

db_test!(a_request_is_logged_with_device_page_status_and_latency, |app| {
    let r = app
        .client
        .get(app.url("/api/v1/regions?limit=2&email=a@b.c"))
        .header("user-agent", CHROME_ON_WINDOWS)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let all = rows(&app).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let row = &all[0];
    assert_eq!(row.path, "/api/v1/regions?limit=2&email=REDACTED", "the e-mail address is not stored");
    assert_eq!(row.ip, "127.0.0.1");
    assert_eq!(row.browser.as_deref(), Some("Chrome 120.0.0.0"));
    assert!(row.os.as_deref().unwrap().starts_with("Windows 10"), "{:?}", row.os);
    assert_eq!(row.method, "GET");
    assert_eq!(row.status, 200);
    assert!(row.latency_us > 0);
    assert_eq!(row.at, T0, "the time the request arrived, from the clock");
    assert_eq!(row.event, "request");
    assert_eq!(subject_of(row), None, "anonymous");
    assert_eq!(row.request_id.as_deref(), Some(request_id.as_str()));
});

db_test!(clause_c1_7_every_request_is_logged_with_ip_browser_os_time_and_page, |app| {
    // Pages, a static file, an API call, a 404, a refused form post: each is one row.
    let requests = [
        ("GET", "/", 200),
        ("GET", "/static/app.css", 200),
        ("GET", "/api/v1/regions", 200),
        ("GET", "/no-such-page?page=2&q=secret", 404),
        ("POST", "/staff/login", 422),
        ("GET", "/staff/login", 200),
    ];
    let mut sent = Vec::new();
    for (i, (method, path, status)) in requests.iter().enumerate() {
        app.clock.advance(Duration::from_secs(60));
        let ua = if i % 2 == 0 { CHROME_ON_WINDOWS } else { FIREFOX_ON_LINUX };
        let req = match *method {
            "POST" => app.client.post(app.url(path)).form(&[("username", "x")]),
            _ => app.client.get(app.url(path)),
        };
        let r = req.header("user-agent", ua).send().await.unwrap();
        assert_eq!(r.status().as_u16(), *status, "{path}");
        sent.push((app.core.now(), ua));
    }
    let all = rows(&app).await;
    assert_eq!(all.len(), requests.len(), "one row per request: {all:?}");
    for ((row, (method, path, status)), (at, ua)) in all.iter().zip(requests).zip(sent) {
        assert_eq!(row.at, at, "{path}: date and time");
        assert_eq!(row.ip, "127.0.0.1", "{path}: client IP");
        assert_eq!(row.method, method);
        let page = if path.starts_with("/no-such-page") { "/no-such-page?page=2&q=REDACTED" } else { path };
        assert_eq!(row.path, page, "the page requested");
        assert_eq!(row.status, i64::from(status));
        if ua == CHROME_ON_WINDOWS {
            assert_eq!(row.browser.as_deref(), Some("Chrome 120.0.0.0"), "{path}: browser name and version");
            assert!(row.os.as_deref().unwrap().starts_with("Windows"), "{path}: operating system");
        } else {
            assert_eq!(row.browser.as_deref(), Some("Firefox 128.0"), "{path}: browser name and version");
            assert_eq!(row.os.as_deref(), Some("Linux"), "{path}: operating system");
        }
    }
});

db_test!(staff_sign_ins_failures_and_sign_outs_are_events, |app| {
    let (id, one_time) = create_staff(&app, "alice", &[Role::Owner]).await;
    let alice = Subject::staff(id);
    first_sign_in(&app, &app.client, "alice", &one_time).await;
    app.client.get(app.url("/staff")).send().await.unwrap();

    // A wrong password, for an existing and for an unknown name: the same answer.
    let other = app.new_client();
    let wrong = |name: &'static str| {
        other.post(app.url("/staff/login")).form(&[("username", name), ("password", "not the password!")]).send()
    };
    let (known, unknown) = (wrong("alice").await.unwrap(), wrong("nobody").await.unwrap());
    assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (401, 401));
    let known = known.text().await.unwrap().replace("alice", "NAME");
    let unknown = unknown.text().await.unwrap().replace("nobody", "NAME");
    assert_eq!(known, unknown, "the page does not tell whether the account exists");

    let csrf = csrf_of(&app, &app.client).await;
    let r = app.client.post(app.url("/staff/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);

    let all = rows(&app).await;
    let events: Vec<(&str, &str, Option<Subject>)> =
        all.iter().map(|r| (r.event.as_str(), r.path.as_str(), subject_of(r))).collect();
    let signed_in: Vec<_> = events.iter().filter(|e| e.0 == "sign_in").collect();
    assert_eq!(
        signed_in,
        [&("sign_in", "/staff/login/second-factor", Some(alice))],
        "signed in once both factors were done: {events:?}"
    );
    let failed: Vec<_> = events.iter().filter(|e| e.0 == "sign_in_failed").collect();
    assert_eq!(failed, [&("sign_in_failed", "/staff/login", Some(alice)), &("sign_in_failed", "/staff/login", None)]);
    assert_eq!(events.last().unwrap(), &("sign_out", "/staff/logout", Some(alice)));
    // Her ordinary requests carry her too, once her session is known.
    assert!(events.contains(&("request", "/staff", Some(alice))), "{events:?}");

    let history = accesslog::login_history(&app.core.db, alice, 10).await.unwrap();
    let h: Vec<&str> = history.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(h, ["sign_in_failed", "sign_in"], "newest first, sign-ins only");
});

/// Every row at `T0 + days`.
fn at_day(days: u32) -> UnixMs {
    T0.plus(DAY * days)
}

async fn paths_kept(app: &TestApp) -> Vec<String> {
    let mut p: Vec<String> =
        rows(app).await.into_iter().map(|r| r.path).filter(|p| p.starts_with("/cookies")).collect();
    p.sort();
    p
}

db_test!(clause_c5_4_access_log_is_kept_at_least_six_months, |app| {
    // 184 days is the longest six-month span: anything shorter is refused.
    let mut c: Config = test_config(&app.db.url);
    assert_eq!(c.logs.retention_days, 190, "the default");
    c.logs.retention_days = 183;
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("logs.retention_days") && err.contains("six months"), "{err}");
    c.logs.retention_days = 184;
    c.validate().unwrap();

    // Day 0 (2026-01-01): a request, and enough rows for several delete batches.
    app.get("/cookies?page=old").await;
    let synthetic = Entry {
        at: T0.plus(Duration::from_secs(3600)),
        ip: "198.51.100.1".into(),
        browser: None,
        os: None,
        method: "GET".into(),
        path: "/synthetic".into(),
        status: 200,
        latency_us: 1,
        subject: None,
        event: AccessEvent::Request,
        request_id: None,
    };
    for _ in 0..12_000 {
        app.access_log.record(synthetic.clone()).await;
    }
    app.clock.set(at_day(35));
    app.get("/cookies?page=mid").await;
    app.clock.set(at_day(47));
    app.get("/cookies?page=keep").await;
    assert_eq!(rows(&app).await.len(), 12_003);

    // Day 230: "keep" is 183 days old, "mid" 195, "old" 230.
    app.clock.set(at_day(230));
    let worker = app.worker();
    let mut seen = HashMap::new();
    worker.run_periodic(&mut seen).await.unwrap();
    let left = paths_kept(&app).await;
    assert!(left.contains(&"/cookies?page=keep".to_string()), "183 days old: kept");
    assert!(!left.contains(&"/cookies?page=old".to_string()), "older than retention_days: removed");
    assert!(rows(&app).await.iter().all(|r| r.path != "/synthetic"), "every expired row, in batches");
    match app.core.db.kind() {
        DbKind::Sqlite => assert_eq!(left, ["/cookies?page=keep"], "SQLite deletes to the day"),
        // PostgreSQL drops whole months: February (day 31 to 59) goes when all of it expired.
        DbKind::Postgres => assert_eq!(left, ["/cookies?page=keep", "/cookies?page=mid"]),
    }

    // Day 250: February has expired as a whole (its last day is 59 + 190 < 250).
    app.clock.set(at_day(250));
    worker.run_periodic(&mut seen).await.unwrap();
    assert_eq!(paths_kept(&app).await, Vec::<String>::new());
});

/// The partitions of `access_log`, by name.
async fn partitions(app: &TestApp) -> Vec<String> {
    const SQL: &str = "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'access_log'::regclass ORDER BY 1";
    on_read!(&app.core.db, c => sqlx::query_scalar(SQL).fetch_all(c).await.unwrap())
}

async fn partition_of(app: &TestApp, path: &str) -> String {
    app.access_log.flush().await;
    const SQL: &str = "SELECT tableoid::regclass::text FROM access_log WHERE path = $1";
    on_read!(&app.core.db, c => sqlx::query_scalar(SQL).bind(path).fetch_one(c).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_rows_land_in_monthly_partitions_and_whole_months_are_dropped() {
    let Some(app) = spawn_app(DbKind::Postgres).await else { return };
    app.get("/cookies?page=january").await;
    assert_eq!(partition_of(&app, "/cookies?page=january").await, "access_log_2026_01");
    assert_eq!(partitions(&app).await, ["access_log_2026_01", "access_log_2026_02", "access_log_default"]);
    // A row of a month without a partition (here: years ago) goes to DEFAULT.
    let mut stray = Entry {
        at: UnixMs(1_577_836_800_000),
        ip: "198.51.100.1".into(),
        browser: None,
        os: None,
        method: "GET".into(),
        path: "/stray".into(),
        status: 200,
        latency_us: 1,
        subject: None,
        event: AccessEvent::Request,
        request_id: None,
    };
    app.access_log.record(stray.clone()).await;
    assert_eq!(partition_of(&app, "/stray").await, "access_log_default");

    // March: the writer makes the month's partitions before its first row.
    app.clock.set(at_day(70));
    app.get("/cookies?page=march").await;
    assert_eq!(partition_of(&app, "/cookies?page=march").await, "access_log_2026_03");
    stray.path = "/stray-recent".into();
    stray.at = at_day(71);
    app.access_log.record(stray).await;

    // September 10th: January and February have expired whole, March not yet (cut-off: March 4).
    app.clock.set(at_day(252));
    let purged = accesslog::purge_expired(&app.core, app.core.now()).await.unwrap();
    assert_eq!(purged, accesslog::Purged { partitions: 2, rows: 1 }, "two months dropped, one stray row deleted");
    assert_eq!(
        partitions(&app).await,
        ["access_log_2026_03", "access_log_2026_04", "access_log_2026_09", "access_log_2026_10", "access_log_default"]
    );
    let left: Vec<String> = rows(&app).await.into_iter().map(|r| r.path).collect();
    assert_eq!(left, ["/cookies?page=march", "/stray-recent"]);
    // Idempotent: a second run drops nothing and creates nothing new.
    let again = accesslog::purge_expired(&app.core, app.core.now()).await.unwrap();
    assert_eq!(again, accesslog::Purged::default());
    assert_eq!(partitions(&app).await.len(), 5);
}

db_test_with!(a_full_queue_slows_requests_down_and_loses_no_row, |c: &mut Config| c.logs.queue_capacity = 1, |app| {
    let n = 300;
    let requests = (0..n).map(|i| {
        let client = app.client.clone();
        let url = app.url(&format!("/cookies?page={i}"));
        async move { client.get(url).send().await.unwrap().status() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200));
    let mut pages: Vec<String> =
        rows(&app).await.into_iter().map(|r| r.path).filter(|p| p.starts_with("/cookies?page=")).collect();
    pages.sort();
    pages.dedup();
    assert_eq!(pages.len(), n, "every request has its row");
});

db_test_with!(
    staff_search_by_user_and_ip_forbidden_to_billing,
    |c: &mut Config| c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()],
    |app| {
        let (olga_id, olga_otp) = create_staff(&app, "olga", &[Role::Compliance]).await;
        first_sign_in(&app, &app.client, "olga", &olga_otp).await;
        let bill = app.new_client();
        let (bill_id, bill_otp) = create_staff(&app, "bill", &[Role::Billing]).await;
        first_sign_in(&app, &bill, "bill", &bill_otp).await;
        // A visitor behind our proxy.
        let r = app.new_client().get(app.url("/cookies?page=7")).header("x-forwarded-for", "203.0.113.7").send();
        assert_eq!(r.await.unwrap().status(), 200);
        app.access_log.flush().await;

        let page = app.client.get(app.url("/staff")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("href=\"/staff/access-log\""), "in the navigation");
        let r = app.client.get(app.url(&format!("/staff/access-log?user=staff:{bill_id}"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("<td>staff:{bill_id}</td>")), "{html}");
        assert!(!html.contains(&format!("<td>staff:{olga_id}</td>")), "only the user asked for");
        assert!(html.contains("/staff/login/second-factor"));

        let html = app.client.get(app.url("/staff/access-log?ip=203.0.113.7")).send().await.unwrap().text().await;
        let html = html.unwrap();
        assert!(html.contains("<td>203.0.113.7</td>") && html.contains("/cookies?page=7"), "{html}");
        assert!(!html.contains("<td>127.0.0.1</td>"), "only that address");

        let r = app.client.get(app.url("/staff/access-log?user=robot:1")).send().await.unwrap();
        assert_eq!(r.status(), 422);

        // Billing has no business with who visited what.
        let page = bill.get(app.url("/staff")).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("href=\"/staff/access-log\""));
        assert_eq!(bill.get(app.url("/staff/access-log")).send().await.unwrap().status(), 403);

        // Each search is in the audit trail, naming the user searched for.
        const SQL: &str = "SELECT COUNT(*) FROM audit_log WHERE action = 'access_log.search' AND actor_id = $1 \
             AND target_kind = 'staff' AND target_id = $2";
        let n: i64 = on_read!(&app.core.db, c => sqlx::query_scalar(SQL).bind(olga_id).bind(bill_id.to_string()).fetch_one(c).await.unwrap());
        assert_eq!(n, 1);
    }
);

db_test!(load_balancer_probes_are_not_logged, |app| {
    app.get("/healthz").await;
    app.get("/readyz").await;
    app.get("/").await;
    app.access_log.flush().await;
    let paths: Vec<String> = rows(&app).await.into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/".to_string()]);
});
