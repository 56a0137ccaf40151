//! The service lifecycle against the Proxmox fake and the 魔方 reseller fake through the real
//! modules: renewal invoices and reminders before expiry, suspension when overdue and
//! resumption on payment (a reseller paid for the renewal too), termination after the grace
//! period (re-checking payment just before), staff's orders, power actions.

use std::time::Duration;

use lantian_core::authz::{Principal, Role};
use lantian_core::provisioning::{console, lifecycle, portal};
use lantian_core::{Error, RequestMeta, UnixMs, billing};

use crate::helpers::{TestApp, count, create_staff, signed_in_customer};
use lantian_fakes::zjmf::{HostStatus, OrderKind};

use crate::provisioning::{
    buy_and_pay, catalog, run_provisioning, servers, state, text, the_service, verify_real_name,
};

const DAY: u64 = 86_400;

/// A customer with one running server (bought monthly in Hong Kong): (customer, service).
async fn running_service(app: &TestApp, name: &str) -> (i64, i64) {
    catalog(app).await;
    let (customer, _) = signed_in_customer(app, name).await;
    buy_and_pay(app, customer, "hk-tko").await;
    run_provisioning(app).await;
    let service = count(app, "SELECT MAX(id) FROM services").await;
    assert_eq!(state(app, service).await.0, "active");
    (customer, service)
}

async fn expiry(app: &TestApp, service: i64) -> UnixMs {
    UnixMs(count(app, &format!("SELECT expires_at FROM services WHERE id = {service}")).await)
}

/// Sets the clock to `days` whole China days after (or before, negative) the expiry's day, at
/// noon China time.
fn at_day(app: &TestApp, expires_at: UnixMs, days: i64) -> UnixMs {
    let noon = UnixMs(UnixMs::start_of_china_day(expires_at.china_day() + days).0 + 12 * 3_600_000);
    app.clock.set(noon);
    noon
}

async fn renewal_invoice(app: &TestApp, service: i64) -> Option<i64> {
    let sql = format!(
        "SELECT COALESCE(MAX(l.invoice_id), 0) FROM orders o JOIN invoice_lines l ON l.order_id = o.id \
         WHERE o.service_id = {service} AND o.state = 'pending'"
    );
    Some(count(app, &sql).await).filter(|id| *id > 0)
}

async fn pay(app: &TestApp, customer: i64, invoice: i64) -> Result<(), Error> {
    let amount = count(app, &format!("SELECT amount_fen FROM invoices WHERE id = {invoice}")).await;
    let cashier = format!("renewals{invoice}");
    let staff =
        Principal::Staff { id: create_staff(app, &cashier, &[Role::Billing]).await.0, roles: vec![Role::Billing] };
    billing::adjust_balance(&app.core, &staff, customer, amount, "prepaid by transfer", app.core.now()).await.unwrap();
    billing::pay_with_balance(&app.core, customer, invoice, app.core.now()).await
}

async fn notices(app: &TestApp, customer: i64, event: &str) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) FROM notices WHERE subject_kind = 'customer' AND subject_id = {customer} AND event = '{event}'"
    );
    count(app, &sql).await
}

async fn admin(app: &TestApp, name: &str) -> Principal {
    Principal::Staff { id: create_staff(app, name, &[Role::Admin]).await.0, roles: vec![Role::Admin] }
}

db_test!(an_overdue_service_is_suspended_and_comes_back_when_its_renewal_is_paid, |app| {
    let (customer, service) = running_service(&app, "renewer").await;
    let expires = expiry(&app, service).await;
    assert_eq!(notices(&app, customer, "service-active").await, 1, "the welcome notice");

    // Eight days before: nothing yet.
    let now = at_day(&app, expires, -8);
    let report = lifecycle::run(&app.core, now).await;
    assert_eq!((report.renewal_invoices, report.reminders), (0, 0));

    // Seven days before: the renewal invoice and the first reminder, once however often it runs.
    let now = at_day(&app, expires, -7);
    let report = lifecycle::run(&app.core, now).await;
    assert_eq!((report.renewal_invoices, report.reminders, report.failed.len()), (1, 1, 0));
    let report = lifecycle::run(&app.core, now).await;
    assert_eq!((report.renewal_invoices, report.reminders), (0, 0), "nothing twice");
    let invoice = renewal_invoice(&app, service).await.expect("a renewal invoice");
    let kind = text(
        &app,
        &format!(
            "SELECT o.kind FROM orders o JOIN invoice_lines l ON l.order_id = o.id WHERE l.invoice_id = {invoice}"
        ),
    )
    .await;
    assert_eq!(kind.as_deref(), Some("renewal"));
    assert_eq!(
        portal::renew(&app.core, customer, service, now).await.unwrap(),
        invoice,
        "renew finds the same invoice"
    );
    // An unpaid renewal is not cancelled as a stale new order would be.
    app.clock.set(UnixMs(now.0 + 6 * DAY as i64 * 1000));
    billing::cancel_stale_orders(&app.core, app.core.now()).await.unwrap();
    assert_eq!(renewal_invoice(&app, service).await, Some(invoice));

    // Three days and one day before: the nearer reminders, each once.
    for days in [3, 1] {
        let now = at_day(&app, expires, -days);
        assert_eq!(lifecycle::run(&app.core, now).await.reminders, 1, "{days} days before");
        assert_eq!(lifecycle::run(&app.core, now).await.reminders, 0);
    }
    assert_eq!(notices(&app, customer, "service-expiring").await, 3);

    // The day it expires, after the hour: still running. The next day: suspended.
    let now = at_day(&app, expires, 0);
    assert_eq!(lifecycle::run(&app.core, now).await.suspended, 0);
    let now = at_day(&app, expires, 1);
    assert_eq!(lifecycle::run(&app.core, now).await.suspended, 1);
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "suspended");
    let vm = &servers(&app)[0];
    assert!(!vm.running, "shut down");
    assert_eq!(vm.config.get("onboot").map(String::as_str), Some("0"));
    assert!(vm.config.get("tags").is_some_and(|t| t.contains("suspended")));
    assert_eq!(notices(&app, customer, "service-suspended").await, 1);
    let refused = portal::power(&app.core, customer, service, "start", app.core.now()).await;
    assert!(matches!(refused, Err(Error::Validation { code: "service-suspended", .. })), "{refused:?}");

    // Paid: a month more from the old expiry, and the server comes back.
    pay(&app, customer, invoice).await.unwrap();
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "active");
    assert!(servers(&app)[0].running);
    assert!(!servers(&app)[0].config.get("tags").is_some_and(|t| t.contains("suspended")));
    let renewed = expiry(&app, service).await;
    assert!(renewed.0 - expires.0 >= 28 * DAY as i64 * 1000 && renewed.0 - expires.0 <= 31 * DAY as i64 * 1000);
    assert_eq!(notices(&app, customer, "service-resumed").await, 1);
    assert_eq!(servers(&app).len(), 1, "the same server, never a second");
});

db_test!(after_the_grace_period_the_server_is_deleted_and_its_vmid_and_address_return, |app| {
    let (customer, service) = running_service(&app, "leaver").await;
    let expires = expiry(&app, service).await;
    let ip = text(&app, &format!("SELECT ip FROM services WHERE id = {service}")).await.unwrap();
    at_day(&app, expires, -7);
    lifecycle::run(&app.core, app.core.now()).await;
    let invoice = renewal_invoice(&app, service).await.unwrap();

    let now = at_day(&app, expires, 6);
    let report = lifecycle::run(&app.core, now).await;
    assert_eq!((report.suspended, report.terminated), (1, 0), "suspended first");
    run_provisioning(&app).await;
    let now = at_day(&app, expires, 7);
    assert_eq!(lifecycle::run(&app.core, now).await.terminated, 1);
    run_provisioning(&app).await;

    assert_eq!(state(&app, service).await.0, "terminated");
    assert!(servers(&app).is_empty(), "the VM is deleted");
    let pooled = format!("SELECT COUNT(*) FROM ip_pool WHERE address = '{ip}' AND service_id IS NULL");
    assert_eq!(count(&app, &pooled).await, 1, "the address is free again");
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM vmid_reservations WHERE service_id = {service}")).await, 0);
    let cancelled = format!("SELECT COUNT(*) FROM invoices WHERE id = {invoice} AND state = 'cancelled'");
    assert_eq!(count(&app, &cancelled).await, 1, "the unpaid renewal is cancelled");
    assert!(pay(&app, customer, invoice).await.is_err(), "and can no longer be paid");
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM services WHERE id = {service} AND password_enc IS NULL")).await,
        1
    );
    assert_eq!(notices(&app, customer, "service-terminated").await, 1);
    // Nothing changes a terminated service.
    assert!(portal::renew(&app.core, customer, service, app.core.now()).await.is_err());
    assert_eq!(lifecycle::run(&app.core, app.core.now()).await.terminated, 0);
});

db_test!(a_renewal_paid_before_the_termination_runs_keeps_the_server, |app| {
    let (customer, service) = running_service(&app, "latepayer").await;
    let expires = expiry(&app, service).await;
    at_day(&app, expires, -7);
    lifecycle::run(&app.core, app.core.now()).await;
    let invoice = renewal_invoice(&app, service).await.unwrap();

    // Marked for termination, but paid before the job runs: the job's check finds it paid.
    let now = at_day(&app, expires, 8);
    assert_eq!(lifecycle::run(&app.core, now).await.terminated, 1);
    pay(&app, customer, invoice).await.unwrap();
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "active");
    assert_eq!(servers(&app).len(), 1, "the server is kept");
    let desired = text(&app, &format!("SELECT desired FROM services WHERE id = {service}")).await;
    assert_eq!(desired.as_deref(), Some("active"));
});

db_test!(staff_orders_are_audited_carried_out_and_hold_against_the_lifecycle, |app| {
    let (customer, service) = running_service(&app, "abuser").await;
    let staff = admin(&app, "ops").await;
    let meta = RequestMeta::default();
    let now = app.core.now();
    let outsider =
        Principal::Staff { id: create_staff(&app, "cashier", &[Role::Billing]).await.0, roles: vec![Role::Billing] };
    assert!(matches!(
        console::order(&app.core, &outsider, service, "suspended", "x", &meta, now).await,
        Err(Error::Forbidden)
    ));
    assert!(
        console::order(&app.core, &staff, service, "suspended", "", &meta, now).await.is_err(),
        "a reason is required"
    );
    assert!(console::order(&app.core, &staff, service, "paused", "abuse report", &meta, now).await.is_err());

    console::order(&app.core, &staff, service, "suspended", "abuse report #12", &meta, now).await.unwrap();
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "suspended");
    assert!(!servers(&app)[0].running);
    let audited =
        format!("SELECT COUNT(*) FROM audit_log WHERE action = 'service.suspend' AND target_id = '{service}'");
    assert_eq!(count(&app, &audited).await, 1);

    // Overdue and unpaid, but staff keep it running: the lifecycle leaves it be.
    console::order(&app.core, &staff, service, "active", "customer promised to pay", &meta, now).await.unwrap();
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "active");
    let expires = expiry(&app, service).await;
    let later = at_day(&app, expires, 10);
    let report = lifecycle::run(&app.core, later).await;
    assert_eq!((report.suspended, report.terminated), (0, 0));

    console::order(&app.core, &staff, service, "terminated", "contract ended", &meta, later).await.unwrap();
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "terminated");
    assert!(servers(&app).is_empty());
    assert!(console::order(&app.core, &staff, service, "active", "undo", &meta, later).await.is_err());
    assert_eq!(notices(&app, customer, "service-terminated").await, 1);
});

db_test!(power_actions_reach_the_server_one_at_a_time, |app| {
    let (customer, service) = running_service(&app, "poweruser").await;
    let now = app.core.now();
    let bad = portal::power(&app.core, customer, service, "format-disk", now).await;
    assert!(matches!(bad, Err(Error::Validation { code: "service-action", .. })));
    let (other, _) = signed_in_customer(&app, "neighbour").await;
    assert!(matches!(portal::power(&app.core, other, service, "stop", now).await, Err(Error::NotFound)));

    portal::power(&app.core, customer, service, "stop", now).await.unwrap();
    let busy = portal::power(&app.core, customer, service, "reboot", now).await;
    assert!(matches!(busy, Err(Error::Validation { code: "service-busy", .. })), "one action at a time");
    run_provisioning(&app).await;
    assert!(!servers(&app)[0].running, "stopped");
    let pending = text(&app, &format!("SELECT power_request FROM services WHERE id = {service}")).await;
    assert_eq!(pending, None, "done");

    portal::power(&app.core, customer, service, "start", app.core.now()).await.unwrap();
    run_provisioning(&app).await;
    assert!(servers(&app)[0].running, "started");
    assert_eq!(state(&app, service).await.0, "active", "a power action changes no state");

    // A reboot is not repeated once its task ended (another call would reboot again).
    portal::power(&app.core, customer, service, "reboot", app.core.now()).await.unwrap();
    run_provisioning(&app).await;
    let reboots =
        app.proxmox.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/status/reboot")).count();
    assert_eq!(reboots, 1, "rebooted once");
    assert_eq!(text(&app, &format!("SELECT power_request FROM services WHERE id = {service}")).await, None);

    // Ten per minute.
    let mut refused = None;
    for _ in 0..12 {
        if let Err(e) = portal::power(&app.core, customer, service, "reboot", app.core.now()).await
            && !matches!(e, Error::Validation { code: "service-busy", .. })
        {
            refused = Some(e);
        }
        app.clock.advance(Duration::from_millis(10));
    }
    assert!(matches!(refused, Some(Error::RateLimited { .. })), "{refused:?}");
});

db_test!(one_worker_converges_a_service_at_a_time, |app| {
    let (customer, service) = running_service(&app, "twoworkers").await;
    // Two jobs for one service (a stop, then a staff suspension), two workers stepping at once:
    // each job leases the service, so the upstream sees one action at a time, and the service
    // ends where it should be.
    portal::power(&app.core, customer, service, "stop", app.core.now()).await.unwrap();
    let staff = admin(&app, "ops2").await;
    console::order(&app.core, &staff, service, "suspended", "maintenance", &RequestMeta::default(), app.core.now())
        .await
        .unwrap();
    let (a, b) = (app.worker(), app.worker());
    for _ in 0..100 {
        let (x, y) = tokio::join!(a.step(), b.step());
        x.unwrap();
        y.unwrap();
        let open = "SELECT COUNT(*) FROM jobs WHERE kind = 'provision' AND state IN ('queued', 'running')";
        if count(&app, open).await == 0 {
            break;
        }
        app.clock.advance(Duration::from_secs(5));
    }
    assert_eq!(state(&app, service).await.0, "suspended");
    assert!(!servers(&app)[0].running);
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM services WHERE id = {service} AND lease_until IS NULL")).await,
        1
    );
});

db_test!(at_the_reseller_a_service_is_suspended_renewed_there_when_paid_and_refunded_at_the_end, |app| {
    catalog(&app).await;
    let (customer, c) = signed_in_customer(&app, "reseller_buyer").await;
    verify_real_name(&app, &c, "张三").await;
    buy_and_pay(&app, customer, "cn-sh").await;
    run_provisioning(&app).await;
    let service = the_service(&app).await;
    assert_eq!(state(&app, service).await, ("active".to_string(), None));
    let host = app.zjmf.hosts().pop().unwrap();
    assert_eq!((app.zjmf.hosts().len(), host.status), (1, HostStatus::Active));
    let ip = text(&app, &format!("SELECT ip FROM services WHERE id = {service}")).await;
    assert_eq!(ip, host.ip, "the address the upstream assigned");
    assert!(app.proxmox.requests().is_empty(), "Shanghai is the reseller's");

    // Overdue: suspended at the reseller.
    let expires = expiry(&app, service).await;
    let now = at_day(&app, expires, -7);
    assert_eq!(lifecycle::run(&app.core, now).await.renewal_invoices, 1);
    let invoice = renewal_invoice(&app, service).await.unwrap();
    let now = at_day(&app, expires, 1);
    assert_eq!(lifecycle::run(&app.core, now).await.suspended, 1);
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "suspended");
    assert_eq!(app.zjmf.hosts()[0].status, HostStatus::Suspended);

    // Paid: the reseller is paid for the month too, once, and the host comes back.
    let balance = app.zjmf.balance_fen();
    pay(&app, customer, invoice).await.unwrap();
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await, ("active".to_string(), None));
    let renewed = app.zjmf.hosts().pop().unwrap();
    assert_eq!(renewed.status, HostStatus::Active);
    assert!(renewed.due_ms - host.due_ms >= 28 * DAY as i64 * 1000, "{} → {}", host.due_ms, renewed.due_ms);
    let renewals: Vec<_> = app.zjmf.orders().into_iter().filter(|o| o.kind == OrderKind::Renew).collect();
    assert_eq!(renewals.len(), 1, "renewed once at the upstream");
    assert_eq!(app.zjmf.balance_fen(), balance - 3_000, "one month of product 101 from our balance");
    assert_eq!(count(&app, &format!("SELECT upstream_renew_months FROM services WHERE id = {service}")).await, 0);

    // Not paid again: after the grace period the host is cancelled at the reseller.
    let expires = expiry(&app, service).await;
    let now = at_day(&app, expires, 7);
    assert_eq!(lifecycle::run(&app.core, now).await.terminated, 1);
    run_provisioning(&app).await;
    assert_eq!(state(&app, service).await.0, "terminated");
    let host = app.zjmf.hosts().pop().unwrap();
    assert!(host.refunded || host.status == HostStatus::Deleted, "{:?}", host.status);
    assert_eq!(app.zjmf.hosts().len(), 1, "the same host all along");

    // What the reseller was told of the customer: the pseudonymous account and nothing of theirs.
    let email = text(&app, &format!("SELECT email FROM customers WHERE id = {customer}")).await.unwrap();
    for r in app.zjmf.requests() {
        let seen = format!("{r:?}");
        for personal in [email.as_str(), "张三", "reseller_buyer"] {
            assert!(!seen.contains(personal), "{personal} reached the reseller: {seen}");
        }
    }
});
