//! A paid server becomes a service that the `provision` job creates at the Proxmox fake through
//! the real Proxmox module: once, even when an answer is lost; never for a customer whose real
//! name was revoked meanwhile; and with nothing of the customer sent to the upstream (C3.5).

use std::time::Duration;

use lantian_core::authz::{Principal, Role};
use lantian_core::billing::{self, CheckoutInput, Item};
use lantian_core::catalog::Cycle;
use lantian_core::{Error, RequestMeta, kyc, provisioning};
use lantian_fakes::proxmox::FakeVm;

use crate::helpers::{T0, TestApp, count, create_staff, signed_in_customer};

const CLONE_PATH: &str = "/api2/json/nodes/pve/qemu/9000/clone";
/// 1990-01-01: an adult.
const ADULT: &str = "110101199001011237";

pub(crate) async fn exec(app: &TestApp, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    let mut tx = app.core.db.begin().await.unwrap();
    lantian_core::on_tx!(&mut tx, c => sqlx::query(sql).execute(c).await.unwrap().rows_affected());
    tx.commit().await.unwrap();
}

pub(crate) async fn text(app: &TestApp, sql: &str) -> Option<String> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    lantian_core::on_read!(&app.core.db, c => sqlx::query_scalar::<_, Option<String>>(sql).fetch_one(c).await.unwrap())
}

/// The starter plans, and Hong Kong's served by `pve-hk` with 20 addresses.
pub(crate) async fn catalog(app: &TestApp) {
    lantian_core::catalog::plans::seed_starter_plans(&app.core, T0).await.unwrap();
    provisioning::seed_demo_targets(&app.core).await.unwrap();
}

/// The customer buys `s1` monthly in the region and pays from a balance staff credited; the
/// invoice id.
pub(crate) async fn buy_and_pay(app: &TestApp, customer: i64, region: &str) -> i64 {
    let plan_id = count(app, "SELECT id FROM plans WHERE code = 's1'").await;
    let region_id = count(app, &format!("SELECT id FROM regions WHERE code = '{region}'")).await;
    let item = Item { plan_id, region_id, cycle: Cycle::Monthly, os_image: "debian-12".into() };
    let input = CheckoutInput { items: vec![item], coupon: String::new() };
    let placed = billing::checkout(&app.core, customer, &input, app.core.now()).await.unwrap();
    let staff = format!("cashier{}", placed.invoice_id);
    let staff =
        Principal::Staff { id: create_staff(app, &staff, &[Role::Billing]).await.0, roles: vec![Role::Billing] };
    billing::adjust_balance(&app.core, &staff, customer, placed.amount_fen, "prepaid by transfer", app.core.now())
        .await
        .unwrap();
    billing::pay_with_balance(&app.core, customer, placed.invoice_id, app.core.now()).await.unwrap();
    placed.invoice_id
}

/// Steps the worker, moving the clock past each park or back-off, until no provision job is
/// left to run.
pub(crate) async fn run_provisioning(app: &TestApp) {
    let worker = app.worker();
    for _ in 0..300 {
        worker.step().await.unwrap();
        let open = "SELECT COUNT(*) FROM jobs WHERE kind = 'provision' AND state IN ('queued', 'running')";
        if count(app, open).await == 0 {
            return;
        }
        app.clock.advance(Duration::from_secs(5));
    }
    panic!("the provision job never finished");
}

/// The VMs at the fake that are not templates.
pub(crate) fn servers(app: &TestApp) -> Vec<FakeVm> {
    app.proxmox.vms().into_iter().filter(|vm| !vm.config.contains_key("template")).collect()
}

fn clones(app: &TestApp) -> usize {
    app.proxmox.requests().iter().filter(|r| r.method == "POST" && r.path == CLONE_PATH).count()
}

pub(crate) async fn state(app: &TestApp, service: i64) -> (String, Option<String>) {
    let st = text(app, &format!("SELECT state FROM services WHERE id = {service}")).await.unwrap();
    (st, text(app, &format!("SELECT last_error FROM services WHERE id = {service}")).await)
}

/// The one service there is.
pub(crate) async fn the_service(app: &TestApp) -> i64 {
    assert_eq!(count(app, "SELECT COUNT(*) FROM services").await, 1);
    count(app, "SELECT id FROM services").await
}

/// Verifies the customer's real name through the page (the Cloudauth fake says it matches).
pub(crate) async fn verify_real_name(app: &TestApp, c: &reqwest::Client, name: &str) {
    let form = [("name", name), ("id_number", ADULT), ("consent", "yes")];
    let r = c.post(app.url("/account/real-name")).form(&form).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/account/real-name?result=verified");
}

/// Asserts the service went active on one running VM named after it, with an address of the
/// pool.
async fn assert_created_once(app: &TestApp, service: i64) {
    assert_eq!(state(app, service).await, ("active".to_string(), None));
    let vms = servers(app);
    assert_eq!(vms.len(), 1, "exactly one VM");
    assert!(vms[0].running);
    assert_eq!(vms[0].config["name"], format!("lc-{service}"));
    assert_eq!(clones(app), 1, "cloned once");
    let ip = text(app, &format!("SELECT ip FROM services WHERE id = {service}")).await.unwrap();
    let pooled = format!("SELECT COUNT(*) FROM ip_pool WHERE address = '{ip}' AND service_id = {service}");
    assert_eq!(count(app, &pooled).await, 1, "{ip} comes from the pool and is held by the service");
    assert_eq!(vms[0].config["ipconfig0"], format!("ip={ip}/24,gw=203.0.113.1"));
    let remote = text(app, &format!("SELECT remote_id FROM services WHERE id = {service}")).await.unwrap();
    assert_eq!(remote, vms[0].vmid.to_string());
}

db_test!(a_paid_server_becomes_a_service_created_once_at_the_upstream, |app| {
    catalog(&app).await;
    let (customer, _) = signed_in_customer(&app, "prov_buyer").await;
    buy_and_pay(&app, customer, "hk-tko").await;

    let service = the_service(&app).await;
    assert_eq!(state(&app, service).await.0, "pending");
    let job = format!("SELECT COUNT(*) FROM jobs WHERE kind = 'provision' AND dedupe_key = 'service:{service}:0'");
    assert_eq!(count(&app, &job).await, 1, "queued with the payment");
    assert!(servers(&app).is_empty(), "nothing created before the job runs");

    run_provisioning(&app).await;
    assert_created_once(&app, service).await;
    assert_eq!(servers(&app)[0].vmid, 10_000, "the lowest vmid of the range");
    let sealed = text(&app, &format!("SELECT password_enc FROM services WHERE id = {service}")).await.unwrap();
    assert!(sealed.len() > 40, "the first login password is stored sealed");
    let times = format!("SELECT COUNT(*) FROM services WHERE id = {service} AND expires_at > activated_at");
    assert_eq!(count(&app, &times).await, 1);

    // Running the job again (a duplicate, a staff retry) creates nothing more.
    let fresh = format!(
        "INSERT INTO jobs (kind, payload, state, run_at, attempts, max_attempts, created_at, updated_at) \
         VALUES ('provision', '{{\"service_id\":{service}}}', 'queued', 0, 0, 3, 0, 0)"
    );
    exec(&app, &fresh).await;
    run_provisioning(&app).await;
    assert_created_once(&app, service).await;

    let mine = provisioning::services_of(&app.core, customer).await.unwrap();
    assert_eq!((mine.len(), mine[0].state.as_str()), (1, "active"));
    assert_eq!(provisioning::service_of(&app.core, customer, service).await.unwrap().id, service);
    let (other, _) = signed_in_customer(&app, "prov_other").await;
    assert!(matches!(provisioning::service_of(&app.core, other, service).await, Err(Error::NotFound)));
    assert!(provisioning::services_of(&app.core, other).await.unwrap().is_empty());
});

db_test!(a_lost_clone_answer_never_makes_a_second_vm, |app| {
    catalog(&app).await;
    let (customer, _) = signed_in_customer(&app, "prov_lost").await;
    buy_and_pay(&app, customer, "hk-tko").await;
    let service = the_service(&app).await;
    // The clone is carried out, but its answer never arrives: an unknown outcome.
    app.proxmox.faults().drop_after_accept_next(CLONE_PATH);
    run_provisioning(&app).await;
    assert_created_once(&app, service).await;
    let retried = "SELECT COUNT(*) FROM jobs WHERE kind = 'provision' AND state = 'done' AND attempts >= 2";
    assert_eq!(count(&app, retried).await, 1, "the lost answer was retried");
});

db_test!(a_foreign_vm_at_the_reserved_vmid_is_left_alone_and_the_next_vmid_taken, |app| {
    catalog(&app).await;
    app.proxmox.add_vm(10_000, &[("name", "hand-made"), ("description", "made by staff")]);
    let (customer, _) = signed_in_customer(&app, "prov_foreign").await;
    buy_and_pay(&app, customer, "hk-tko").await;
    let service = the_service(&app).await;
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "active");
    assert_eq!(app.proxmox.vm(10_000).unwrap().config["name"], "hand-made", "never touched");
    assert_eq!(app.proxmox.vm(10_001).unwrap().config["name"], format!("lc-{service}"));
    let held = "SELECT COUNT(*) FROM vmid_reservations WHERE vmid = 10000 AND service_id IS NULL";
    assert_eq!(count(&app, held).await, 1, "never handed out again");
});

db_test!(clause_c1_2_a_real_name_revoked_before_the_job_creates_nothing, |app| {
    // Shanghai's servers are bought at the 魔方 reseller.
    catalog(&app).await;
    let (customer, c) = signed_in_customer(&app, "prov_mainland").await;
    verify_real_name(&app, &c, "张三").await;
    buy_and_pay(&app, customer, "cn-sh").await;
    let service = the_service(&app).await;
    assert_eq!(state(&app, service).await.0, "pending");

    let staff = Principal::Staff {
        id: create_staff(&app, "compliance", &[Role::Compliance]).await.0,
        roles: vec![Role::Compliance],
    };
    kyc::staff::revoke(&app.core, &staff, customer, "forged document", &RequestMeta::default(), app.core.now())
        .await
        .unwrap();
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await, ("needs_attention".to_string(), Some("real-name".to_string())));
    assert!(app.zjmf.requests().is_empty(), "nothing sent to the upstream");
    assert!(app.proxmox.requests().is_empty());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM vmid_reservations").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM ip_pool WHERE service_id IS NOT NULL").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM disclosures WHERE recipient = 'upstream_provider'").await, 0);
});

db_test!(without_a_target_or_a_free_address_the_service_waits_for_staff, |app| {
    catalog(&app).await;
    let (customer, _) = signed_in_customer(&app, "prov_waiting").await;
    // No plan has a target in Kwai Chung: the service waits, no job is queued.
    buy_and_pay(&app, customer, "hk-kwc").await;
    let first = the_service(&app).await;
    assert_eq!(
        state(&app, first).await,
        ("needs_attention".to_string(), Some("no upstream for this plan and region".to_string()))
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM jobs WHERE kind = 'provision'").await, 0);

    // Every address of the pool is gone.
    exec(&app, "DELETE FROM ip_pool").await;
    buy_and_pay(&app, customer, "hk-tko").await;
    let second = count(&app, "SELECT MAX(id) FROM services").await;
    run_provisioning(&app).await;
    assert_eq!(state(&app, second).await, ("needs_attention".to_string(), Some("no free address".to_string())));
    assert!(app.proxmox.requests().is_empty(), "nothing sent to the upstream");
});

db_test!(a_failed_upstream_task_puts_the_service_before_staff_with_the_error_and_the_task_log, |app| {
    catalog(&app).await;
    let (staff, _) = crate::services_pages::member(&app, "prov_admin", &[Role::Admin]).await;
    let admin = count(&app, "SELECT id FROM staff WHERE username = 'prov_admin'").await;
    let (customer, _) = signed_in_customer(&app, "prov_failed").await;
    app.proxmox.faults().fail_next_task("clone failed: no space left on device");
    buy_and_pay(&app, customer, "hk-tko").await;
    let service = the_service(&app).await;
    run_provisioning(&app).await;

    let (st, why) = state(&app, service).await;
    let why = why.unwrap();
    assert_eq!(st, "needs_attention");
    assert!(why.contains("TASK ERROR: clone failed: no space left on device"), "{why}");
    let alert = format!(
        "SELECT args FROM notices WHERE subject_kind = 'staff' AND subject_id = {admin} \
         AND event = 'service-needs-attention'"
    );
    let args: serde_json::Value = serde_json::from_str(&text(&app, &alert).await.unwrap()).unwrap();
    assert_eq!(args["why"], why, "the alert carries the error and the task log");
    let detail = staff.get(app.url(&format!("/staff/services/{service}"))).send().await.unwrap().text().await.unwrap();
    let shown =
        detail.split("id=\"service-last-error\" class=\"log\">").nth(1).unwrap().split("</pre>").next().unwrap();
    assert!(
        shown.contains("--- task log ---\ncreate full clone") && shown.contains("TASK ERROR: clone failed"),
        "{shown}"
    );
    assert!(servers(&app).is_empty(), "the failed clone left nothing");
});

db_test!(clause_c3_5_the_upstream_receives_only_the_service_s_own_parameters, |app| {
    catalog(&app).await;
    let (customer, c) = signed_in_customer(&app, "prov_private").await;
    verify_real_name(&app, &c, "李小龙").await;
    buy_and_pay(&app, customer, "hk-tko").await;
    buy_and_pay(&app, customer, "hk-tko").await;
    run_provisioning(&app).await;
    assert_eq!(servers(&app).len(), 2);

    let (pseudonym, _) = billing::account(&app.core.db, customer).await.unwrap().unwrap();
    let personal = ["prov_private@mail.example", "prov_private", pseudonym.as_str(), "李小龙", ADULT];
    let requests = app.proxmox.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        for text in request.texts() {
            let lower = text.to_lowercase();
            for value in personal {
                assert!(
                    !lower.contains(&value.to_lowercase()),
                    "{value:?} sent in {} {}",
                    request.method,
                    request.path
                );
            }
        }
    }

    let services: Vec<i64> =
        provisioning::services_of(&app.core, customer).await.unwrap().iter().map(|s| s.id).collect();
    assert_eq!(services.len(), 2);
    for service in services {
        let rows = format!(
            "SELECT COUNT(*) FROM disclosures WHERE subject_kind = 'customer' AND subject_id = {customer} \
             AND recipient = 'upstream_provider' AND recipient_name = 'pve-hk' AND object_kind = 'service' \
             AND object_id = '{service}' AND fields = 'hostname,plan,os_image,ssh_key_or_password,ip_address'"
        );
        assert_eq!(count(&app, &rows).await, 1, "one disclosure row for service {service}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM disclosures WHERE recipient = 'upstream_provider'").await, 2);
});
