//! The customer's server pages and the console's service pages: the list and the detail in
//! plain words, another customer's server "not found", power actions (and their refusal while
//! suspended), renewal through the invoice pages, the first-login password shown until the
//! customer saved it, and the staff queue with its audited orders, for those allowed only.

use std::time::Duration;

use lantian_core::authz::{Principal, Role};
use lantian_core::billing;
use lantian_core::provisioning::{self, portal};

use crate::helpers::{
    CUSTOMER_PASSWORD, TestApp, count, create_staff, csrf_of, first_sign_in, signed_in_customer, text_of,
};
use crate::provisioning::{buy_and_pay, catalog, run_provisioning, the_service};

/// A customer's first server, bought, paid and created at the Proxmox fake: its id.
pub(crate) async fn running_service(app: &TestApp, customer: i64) -> i64 {
    catalog(app).await;
    buy_and_pay(app, customer, "hk-tko").await;
    let id = the_service(app).await;
    run_provisioning(app).await;
    id
}

/// The customer signs in again on a fresh client (a session ends after a day without use).
pub(crate) async fn log_in(app: &TestApp, username: &str) -> reqwest::Client {
    let c = app.new_client();
    let form = [("login", username), ("password", CUSTOMER_PASSWORD)];
    let r = c.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303, "{username} signed in");
    c
}

/// Past the expiry of the service's first month and `suspend_after_days`: the lifecycle marks
/// it overdue, and the job suspends it at the fake.
pub(crate) async fn overdue(app: &TestApp) {
    app.clock.advance(Duration::from_secs(33 * 86_400));
    let report = provisioning::lifecycle::run(&app.core, app.core.now()).await;
    assert_eq!((report.suspended, report.failed.len()), (1, 0), "{report:?}");
    run_provisioning(app).await;
}

/// Credits the balance with what `invoice` costs, as a cashier would after a bank transfer.
pub(crate) async fn credit_for(app: &TestApp, customer: i64, invoice: i64) {
    let amount = count(app, &format!("SELECT amount_fen FROM invoices WHERE id = {invoice}")).await;
    let (id, _) = create_staff(app, &format!("renewals{invoice}"), &[Role::Billing]).await;
    let cashier = Principal::Staff { id, roles: vec![Role::Billing] };
    billing::adjust_balance(&app.core, &cashier, customer, amount, "prepaid by transfer", app.core.now())
        .await
        .unwrap();
}

pub(crate) async fn service_state(app: &TestApp, id: i64) -> String {
    crate::provisioning::state(app, id).await.0
}

async fn page(c: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let r = c.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// (status, location or body) of a form post.
async fn post(c: &reqwest::Client, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = c.post(app.url(path)).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(r.text().await.unwrap()))
}

db_test!(a_customer_sees_their_servers_in_plain_words_and_another_s_is_not_found, |app| {
    catalog(&app).await;
    let (customer, c) = signed_in_customer(&app, "svc_owner").await;
    buy_and_pay(&app, customer, "hk-tko").await;
    let id = the_service(&app).await;
    let path = format!("/account/services/{id}");

    let list = page(&c, &app, "/account/services").await;
    assert!(list.contains("href=\"/account/services\""), "the account menu links the list");
    assert!(list.contains(&format!("lc-{id}")) && list.contains("正在创建服务器…"), "{list}");
    let detail = page(&c, &app, &path).await;
    assert_eq!(text_of(&detail, "service-state").unwrap(), "正在创建服务器…");
    assert!(detail.contains("http-equiv=\"refresh\""), "reloads itself while the server is made");
    assert!(!detail.contains("id=\"power\""), "no power actions before it runs");

    run_provisioning(&app).await;
    let ip = crate::provisioning::text(&app, &format!("SELECT ip FROM services WHERE id = {id}")).await.unwrap();
    let detail = page(&c, &app, &path).await;
    assert_eq!(text_of(&detail, "service-state").unwrap(), "运行中");
    assert_eq!(text_of(&detail, "service-ip").unwrap(), ip);
    assert!(!detail.contains("http-equiv=\"refresh\""), "nothing under way");
    for button in ["power-start", "power-stop", "power-reboot", "renew-submit", "password-show"] {
        assert!(detail.contains(&format!("id=\"{button}\"")), "{button}");
    }
    let lifecycle = text_of(&detail, "service-lifecycle").unwrap();
    assert!(
        lifecycle.contains("到期前 7 天")
            && lifecycle.contains("到期 1 天后暂停")
            && lifecycle.contains("到期 7 天后删除"),
        "{lifecycle}"
    );
    assert!(lifecycle.contains("中国标准时间"));
    let list = page(&c, &app, "/account/services").await;
    assert!(list.contains("运行中") && list.contains(&ip) && list.contains("香港"), "{list}");

    // Another customer: every page and action of this server is "not found", in their language.
    let (_, other) = signed_in_customer(&app, "svc_other").await;
    let r = other.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("页面不存在"));
    for action in ["power", "renew", "password", "password/forget"] {
        assert_eq!(post(&other, &app, &format!("{path}/{action}"), &[("action", "stop")]).await.0, 404, "{action}");
    }
    assert!(page(&other, &app, "/account/services").await.contains("id=\"services-none\""));
    assert_eq!(servers_running(&app), 1, "the stop was never asked for");
    // Ids that name nothing are "not found" too, never a server error.
    for bad in ["abc", "-1", "99999999999999999999", "1.5"] {
        assert_eq!(c.get(app.url(&format!("/account/services/{bad}"))).send().await.unwrap().status(), 404, "{bad}");
    }
    assert_eq!(app.new_client().get(app.url(&path)).send().await.unwrap().headers()["location"], "/login");
});

fn servers_running(app: &TestApp) -> usize {
    crate::provisioning::servers(app).iter().filter(|vm| vm.running).count()
}

db_test!(power_actions_are_run_by_the_job_and_refused_while_suspended, |app| {
    let (customer, c) = signed_in_customer(&app, "svc_power").await;
    let id = running_service(&app, customer).await;
    let path = format!("/account/services/{id}");

    let (status, to) = post(&c, &app, &format!("{path}/power"), &[("action", "stop")]).await;
    assert_eq!((status, to.as_str()), (303, path.as_str()));
    let detail = page(&c, &app, &path).await;
    assert_eq!(text_of(&detail, "service-notice").unwrap(), "已提交电源操作，稍后生效。");
    assert_eq!(text_of(&detail, "service-pending").unwrap(), "正在关机…");
    assert!(!detail.contains("id=\"power\""), "no second action while one waits");
    assert!(detail.contains("http-equiv=\"refresh\""));
    assert!(!page(&c, &app, &path).await.contains("id=\"service-notice\""), "the notice is shown once");
    // A second tab still has the buttons: the server refuses.
    let (status, body) = post(&c, &app, &format!("{path}/power"), &[("action", "reboot")]).await;
    assert_eq!(status, 422);
    assert_eq!(text_of(&body, "service-error").unwrap(), "服务器正在执行其他操作，请稍后再试。");
    let (status, body) = post(&c, &app, &format!("{path}/power"), &[("action", "explode")]).await;
    assert_eq!((status, text_of(&body, "service-error").unwrap().as_str()), (422, "未知的操作。"));

    run_provisioning(&app).await;
    assert_eq!(servers_running(&app), 0, "stopped at the upstream");
    let detail = page(&c, &app, &path).await;
    assert!(detail.contains("id=\"power\"") && !detail.contains("id=\"service-pending\""));
    post(&c, &app, &format!("{path}/power"), &[("action", "start")]).await;
    run_provisioning(&app).await;
    assert_eq!(servers_running(&app), 1, "started again");

    overdue(&app).await;
    let c = log_in(&app, "svc_power").await;
    assert_eq!(service_state(&app, id).await, "suspended");
    let detail = page(&c, &app, &path).await;
    assert_eq!(text_of(&detail, "service-state").unwrap(), "已暂停：请支付续费账单");
    assert!(!detail.contains("id=\"power\""), "no power actions while suspended");
    assert!(detail.contains("id=\"renew-submit\"") && detail.contains("id=\"service-renewal-due\""));
    let (status, body) = post(&c, &app, &format!("{path}/power"), &[("action", "start")]).await;
    assert_eq!((status, text_of(&body, "service-error").unwrap().as_str()), (422, "服务器已暂停：请先支付续费账单。"));
    assert_eq!(servers_running(&app), 0);
});

db_test!(renewing_goes_to_the_renewal_invoice_and_paying_it_brings_the_server_back, |app| {
    let (customer, c) = signed_in_customer(&app, "svc_renew").await;
    let id = running_service(&app, customer).await;
    let path = format!("/account/services/{id}");
    // Early: a renewal invoice is issued on request, and the same one is found again.
    let (status, to) = post(&c, &app, &format!("{path}/renew"), &[]).await;
    assert_eq!(status, 303);
    let invoice: i64 = to.strip_prefix("/account/invoices/").unwrap().parse().unwrap();
    assert_eq!(post(&c, &app, &format!("{path}/renew"), &[]).await.1, to, "one unpaid renewal");
    assert!(page(&c, &app, &to).await.contains("未支付"));
    assert!(page(&c, &app, &path).await.contains("支付续费账单"));

    overdue(&app).await;
    let c = log_in(&app, "svc_renew").await;
    assert_eq!(service_state(&app, id).await, "suspended");
    assert_eq!(post(&c, &app, &format!("{path}/renew"), &[]).await, (303, to.clone()), "the invoice issued before");
    credit_for(&app, customer, invoice).await;
    let (status, _) = post(&c, &app, &format!("{to}/pay"), &[("method", "balance")]).await;
    assert_eq!(status, 303);
    assert_eq!(text_of(&page(&c, &app, &path).await, "service-state").unwrap(), "正在恢复…");
    run_provisioning(&app).await;
    let detail = page(&c, &app, &path).await;
    assert_eq!(text_of(&detail, "service-state").unwrap(), "运行中");
    assert!(detail.contains("id=\"power\"") && !detail.contains("id=\"service-renewal-due\""));
    assert_eq!(servers_running(&app), 1);

    // A terminated server cannot be renewed: the page says why.
    let (admin, _) = create_staff(&app, "svc_admin", &[Role::Admin]).await;
    let admin = Principal::Staff { id: admin, roles: vec![Role::Admin] };
    let meta = lantian_core::RequestMeta::default();
    let now = app.core.now();
    provisioning::console::order(&app.core, &admin, id, "terminated", "customer asked", &meta, now).await.unwrap();
    run_provisioning(&app).await;
    let (status, body) = post(&c, &app, &format!("{path}/renew"), &[]).await;
    assert_eq!(status, 422);
    assert_eq!(text_of(&body, "service-error").unwrap(), "此服务无法续费（已终止或尚未开通）。");
    assert_eq!(text_of(&body, "service-state").unwrap(), "已删除");
});

db_test!(the_first_login_password_is_shown_on_request_until_the_customer_saved_it, |app| {
    let (customer, c) = signed_in_customer(&app, "svc_secret").await;
    let id = running_service(&app, customer).await;
    let path = format!("/account/services/{id}");
    let password = portal::first_login_password(&app.core, customer, id).await.unwrap().unwrap();
    let detail = page(&c, &app, &path).await;
    assert!(detail.contains("id=\"password-show\"") && !detail.contains(password.as_str()), "behind a button");
    assert!(!page(&c, &app, "/account/services").await.contains(password.as_str()));

    let r = c.post(app.url(&format!("{path}/password"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let shown = r.text().await.unwrap();
    assert_eq!(text_of(&shown, "service-password").unwrap(), password.as_str());
    assert!(shown.contains("id=\"password-forget\""));
    // Shown again on request, until the customer says they saved it.
    let again = c.post(app.url(&format!("{path}/password"))).send().await.unwrap().text().await.unwrap();
    assert_eq!(text_of(&again, "service-password").unwrap(), password.as_str());

    assert_eq!(post(&c, &app, &format!("{path}/password/forget"), &[]).await, (303, path.clone()));
    let detail = page(&c, &app, &path).await;
    assert_eq!(text_of(&detail, "service-notice").unwrap(), "首次登录密码已永久删除。");
    assert!(!detail.contains("id=\"password-show\"") && !detail.contains(password.as_str()));
    assert_eq!(post(&c, &app, &format!("{path}/password"), &[]).await, (303, path.clone()));
    assert_eq!(text_of(&page(&c, &app, &path).await, "service-notice").unwrap(), "首次登录密码已不再保存。");
    assert!(portal::first_login_password(&app.core, customer, id).await.unwrap().is_none());
    let held = format!("SELECT COUNT(*) FROM services WHERE id = {id} AND password_enc IS NOT NULL");
    assert_eq!(count(&app, &held).await, 0, "gone for good");
});

/// A member with these roles, signed in on a fresh client, and the form token.
pub(crate) async fn member(app: &TestApp, username: &str, roles: &[Role]) -> (reqwest::Client, String) {
    let (_, one_time) = create_staff(app, username, roles).await;
    let c = app.new_client();
    first_sign_in(app, &c, username, &one_time).await;
    let csrf = csrf_of(app, &c).await;
    (c, csrf)
}

async fn audited(app: &TestApp, action: &str, id: i64, reason: &str) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND target_kind = 'service' \
         AND target_id = '{id}' AND reason = '{reason}' AND actor_kind = 'staff'"
    );
    count(app, &sql).await
}

db_test!(staff_who_manage_services_work_the_queue_and_their_orders_are_audited, |app| {
    let (customer, c) = signed_in_customer(&app, "svc_staffed").await;
    let running = running_service(&app, customer).await;
    // No plan has an upstream in Kwai Chung: this one waits for staff.
    buy_and_pay(&app, customer, "hk-kwc").await;
    let waiting = count(&app, "SELECT MAX(id) FROM services").await;

    // Billing staff see neither the link nor the pages.
    let (clerk, clerk_csrf) = member(&app, "svc_clerk", &[Role::Billing]).await;
    assert!(!page(&clerk, &app, "/staff").await.contains("href=\"/staff/services\""));
    for path in ["/staff/services".to_string(), format!("/staff/services/{running}")] {
        assert_eq!(clerk.get(app.url(&path)).send().await.unwrap().status(), 403, "{path}");
    }
    let form = [("desired", "suspended"), ("reason", "abuse report 12"), ("csrf", clerk_csrf.as_str())];
    assert_eq!(post(&clerk, &app, &format!("/staff/services/{running}/order"), &form).await.0, 403);

    let (s, csrf) = member(&app, "svc_admin", &[Role::Admin]).await;
    let queue = page(&s, &app, "/staff/services").await;
    assert!(queue.contains("href=\"/staff/services\""), "the console's menu links the queue");
    assert!(queue.contains(&format!("id=\"service-{waiting}\"")) && queue.contains("需人工处理"), "{queue}");
    assert!(queue.contains("no upstream for this plan and region"));
    assert!(!queue.contains(&format!("id=\"service-{running}\"")), "a running service is where it should be");
    assert_eq!(
        s.get(app.url(&format!("/staff/services?id={running}"))).send().await.unwrap().headers()["location"],
        format!("/staff/services/{running}").as_str()
    );
    let detail_path = format!("/staff/services/{running}");
    let detail = page(&s, &app, &detail_path).await;
    assert!(detail.contains("pve-hk") && detail.contains("运行中 → 运行中"), "{detail}");
    assert!(detail.contains("id=\"order-suspend\"") && !detail.contains("id=\"order-resume\""));

    // Suspend, with a reason the audit trail keeps; the customer's page says so.
    let order = format!("/staff/services/{running}/order");
    let (status, body) = post(&s, &app, &order, &[("desired", "suspended"), ("reason", "x"), ("csrf", &csrf)]).await;
    assert_eq!((status, text_of(&body, "order-error").unwrap().as_str()), (422, "请填写 4 至 200 个字的原因。"));
    let (status, _) = post(&s, &app, &order, &[("desired", "suspended"), ("reason", "abuse report 12")]).await;
    assert_eq!(status, 403, "no form token");
    let form = [("desired", "suspended"), ("reason", "abuse report 12"), ("csrf", csrf.as_str())];
    assert_eq!(post(&s, &app, &order, &form).await, (303, format!("{detail_path}?done=suspended")));
    assert_eq!(audited(&app, "service.suspend", running, "abuse report 12").await, 1);
    assert!(page(&s, &app, "/staff/services").await.contains(&format!("id=\"service-{running}\"")), "on its way");
    run_provisioning(&app).await;
    assert_eq!(service_state(&app, running).await, "suspended");
    let customer_page = page(&c, &app, &format!("/account/services/{running}")).await;
    assert_eq!(text_of(&customer_page, "service-state").unwrap(), "已暂停：请联系客服", "not for an unpaid renewal");
    assert!(!customer_page.contains("id=\"power\""));

    let form = [("desired", "active"), ("reason", "report withdrawn"), ("csrf", csrf.as_str())];
    assert_eq!(post(&s, &app, &order, &form).await.0, 303);
    assert_eq!(audited(&app, "service.resume", running, "report withdrawn").await, 1);
    run_provisioning(&app).await;
    assert_eq!(service_state(&app, running).await, "active");

    // Terminating takes the ticked box.
    let form = [("desired", "terminated"), ("reason", "customer asked"), ("csrf", csrf.as_str())];
    let (status, body) = post(&s, &app, &order, &form).await;
    assert_eq!((status, text_of(&body, "terminate-error").unwrap().as_str()), (422, "删除前请勾选确认框。"));
    assert_eq!(audited(&app, "service.terminate", running, "customer asked").await, 0);
    assert_eq!(service_state(&app, running).await, "active");
    let form = [("desired", "terminated"), ("reason", "customer asked"), ("confirm", "yes"), ("csrf", csrf.as_str())];
    assert_eq!(post(&s, &app, &order, &form).await, (303, format!("{detail_path}?done=terminated")));
    assert_eq!(audited(&app, "service.terminate", running, "customer asked").await, 1);
    run_provisioning(&app).await;
    assert_eq!(service_state(&app, running).await, "terminated");
    assert!(crate::provisioning::servers(&app).is_empty(), "deleted at the upstream");
    let detail = page(&s, &app, &detail_path).await;
    assert!(!detail.contains("id=\"retry\"") && !detail.contains("id=\"terminate\""), "nothing left to do");

    // The waiting one: a retry, audited.
    let retry = format!("/staff/services/{waiting}/retry");
    let form = [("reason", "target added"), ("csrf", csrf.as_str())];
    assert_eq!(post(&s, &app, &retry, &form).await, (303, format!("/staff/services/{waiting}?done=retry")));
    assert_eq!(audited(&app, "service.retry", waiting, "target added").await, 1);
    let done = page(&s, &app, &format!("/staff/services/{waiting}?done=retry")).await;
    assert_eq!(text_of(&done, "service-done").unwrap(), "已重新安排任务。");

    assert_eq!(s.get(app.url("/staff/services/999999")).send().await.unwrap().status(), 404);
    let form = [("reason", "target added"), ("csrf", csrf.as_str())];
    assert_eq!(post(&s, &app, "/staff/services/999999/retry", &form).await.0, 404);
});

db_test!(staff_read_the_upstream_check_in_the_console, |app| {
    let (customer, _) = signed_in_customer(&app, "svc_checked").await;
    running_service(&app, customer).await;
    let (clerk, _) = member(&app, "svc_clerk2", &[Role::Billing]).await;
    assert_eq!(clerk.get(app.url("/staff/services/reconcile")).send().await.unwrap().status(), 403);

    let (s, _) = member(&app, "svc_admin2", &[Role::Admin]).await;
    assert!(page(&s, &app, "/staff/services").await.contains("id=\"reconcile-link\""));
    let clean = page(&s, &app, "/staff/services/reconcile").await;
    assert!(clean.contains("id=\"upstream-pve-hk\"") && clean.contains("一致"), "{clean}");

    // A VM made at the upstream behind our back, inside our vmid range: listed, not touched.
    app.proxmox.add_vm(10_500, &[("name", "rogue")]);
    let found = page(&s, &app, "/staff/services/reconcile").await;
    assert!(found.contains("class=\"dense unknown\"") && found.contains("10500") && found.contains("rogue"), "{found}");
    assert!(app.proxmox.vms().iter().any(|vm| vm.vmid == 10_500), "nothing is deleted");
});
