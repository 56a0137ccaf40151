//! The reconciler against the Proxmox fake of upstream `pve-hk` (our vmids: 10000–10999): it
//! reports VMs no service accounts for and services whose VM is gone, leaves staff's own VMs
//! outside our range alone, reports a failed listing as that upstream's error while checking
//! the others, and changes nothing, neither at the upstream nor in our records.

use std::collections::HashMap;
use std::time::Duration;

use lantian_core::Error;
use lantian_core::authz::{Principal, Role};
use lantian_core::config::Secret;
use lantian_core::jobs::Registry;
use lantian_core::provisioning::provider::{ProvError, RemoteServer};
use lantian_core::provisioning::reconcile::{self, MissingServer, Report, UpstreamReport};
use lantian_fakes::proxmox::FakeVm;

use crate::helpers::{TestApp, count, create_staff, signed_in_customer};
use crate::provisioning::{buy_and_pay, catalog, exec, run_provisioning, state, text, the_service};

/// Staff who manage services (and hear from the reconciler).
async fn admin(app: &TestApp) -> (i64, Principal) {
    let id = create_staff(app, "ops", &[Role::Admin]).await.0;
    (id, Principal::Staff { id, roles: vec![Role::Admin] })
}

/// A customer's service, active on VM 10000 at the fake; the customer and the service.
async fn active_service(app: &TestApp) -> (i64, i64) {
    catalog(app).await;
    let (customer, _) = signed_in_customer(app, "rec_buyer").await;
    buy_and_pay(app, customer, "hk-tko").await;
    run_provisioning(app).await;
    let service = the_service(app).await;
    assert_eq!(state(app, service).await.0, "active");
    assert_eq!(app.proxmox.vm(10_000).unwrap().config["name"], format!("lc-{service}"));
    (customer, service)
}

fn clean(upstream: &str) -> UpstreamReport {
    UpstreamReport { upstream: upstream.into(), unknown: Vec::new(), missing: Vec::new(), error: None }
}

fn vm(remote_id: &str, name: &str) -> RemoteServer {
    RemoteServer { remote_id: remote_id.into(), node: Some("pve".into()), name: name.into(), key: None }
}

/// Runs `provisioning.reconcile` as a worker runs periodic tasks.
async fn run_task(app: &TestApp) {
    let mut registry = Registry::default();
    registry.every(reconcile::task());
    assert_eq!(app.worker_with(registry).run_periodic(&mut HashMap::new()).await.unwrap(), 1);
}

/// The notices the reconciler left `staff`, newest last: their summaries.
async fn told(app: &TestApp, staff: i64) -> Vec<String> {
    let notices = format!(
        "SELECT COUNT(*) FROM notices WHERE subject_kind = 'staff' AND subject_id = {staff} \
         AND event = 'upstreams-differ'"
    );
    let n = count(app, &notices).await;
    let mut whys = Vec::new();
    for offset in 0..n {
        let args = format!(
            "SELECT args FROM notices WHERE subject_kind = 'staff' AND subject_id = {staff} \
             AND event = 'upstreams-differ' ORDER BY id LIMIT 1 OFFSET {offset}"
        );
        let args: serde_json::Value = serde_json::from_str(&text(app, &args).await.unwrap()).unwrap();
        whys.push(args["summary"].as_str().unwrap().to_string());
    }
    whys
}

/// What a report must leave as it was: our services and jobs, and the VMs at the fake.
async fn snapshot(app: &TestApp) -> (Vec<String>, i64, Vec<FakeVm>) {
    let n = count(app, "SELECT COUNT(*) FROM services").await;
    let mut services = Vec::new();
    for offset in 0..n {
        let row = format!(
            "SELECT state || '/' || desired || '/' || COALESCE(remote_id, '-') || '/' || COALESCE(checkpoint, '-') \
             || '/' || CAST(generation AS TEXT) FROM services ORDER BY id LIMIT 1 OFFSET {offset}"
        );
        services.push(text(app, &row).await.unwrap());
    }
    (services, count(app, "SELECT COUNT(*) FROM jobs").await, app.proxmox.vms())
}

db_test!(a_clean_state_and_a_create_under_way_report_nothing, |app| {
    let (customer, first) = active_service(&app).await;
    let (ops, admin) = admin(&app).await;
    let report = reconcile::report(&app.core, &admin).await.unwrap();
    assert_eq!(report, Report { upstreams: vec![clean("pve-hk"), clean("zjmf-sh")] });
    run_task(&app).await;
    assert!(told(&app, ops).await.is_empty(), "nothing to tell");

    // A second server is being cloned: unnamed while it copies, then named, its service still
    // provisioning. Its vmid is reserved, so it is never taken for a stranger.
    buy_and_pay(&app, customer, "hk-tko").await;
    let second = count(&app, "SELECT MAX(id) FROM services").await;
    app.worker().step().await.unwrap();
    assert_eq!(state(&app, second).await.0, "provisioning");
    let in_flight = app.proxmox.vm(10_001).unwrap();
    assert_eq!((in_flight.config.get("name"), in_flight.config["lock"].as_str()), (None, "clone"));
    assert_eq!(
        reconcile::report(&app.core, &admin).await.unwrap(),
        Report { upstreams: vec![clean("pve-hk"), clean("zjmf-sh")] }
    );
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(app.proxmox.vm(10_001).unwrap().config["name"], format!("lc-{second}"));
    assert_eq!(
        reconcile::report(&app.core, &admin).await.unwrap(),
        Report { upstreams: vec![clean("pve-hk"), clean("zjmf-sh")] }
    );

    // A terminated service has no server any more: one still there should have been deleted.
    exec(&app, &format!("UPDATE services SET state = 'terminated' WHERE id = {first}")).await;
    let report = reconcile::report(&app.core, &admin).await.unwrap();
    assert_eq!(report.upstreams[0].unknown, [vm("10000", &format!("lc-{first}"))]);
    assert!(report.upstreams[0].missing.is_empty());

    let helpdesk = create_staff(&app, "helpdesk", &[Role::Support]).await.0;
    let support = Principal::Staff { id: helpdesk, roles: vec![Role::Support] };
    assert!(matches!(reconcile::report(&app.core, &support).await, Err(Error::Forbidden)));
    assert!(matches!(reconcile::report(&app.core, &Principal::Customer(customer)).await, Err(Error::Forbidden)));
});

db_test!(servers_made_or_removed_behind_our_back_are_reported_and_nothing_is_changed, |app| {
    let (_, service) = active_service(&app).await;
    let (ops, admin) = admin(&app).await;
    // Inside our range: a stranger. Outside it: staff's own, unless it carries our name.
    app.proxmox.add_vm(10_500, &[("name", "rogue")]);
    app.proxmox.add_vm(200, &[("name", "hand-made"), ("description", "staff's database")]);
    app.proxmox.add_vm(300, &[("name", "lc-999")]);
    // The service's VM deleted by hand.
    assert!(app.proxmox.remove_vm(10_000));

    let before = snapshot(&app).await;
    let requests = app.proxmox.requests().len();
    let report = reconcile::report(&app.core, &admin).await.unwrap();
    let expected = UpstreamReport {
        upstream: "pve-hk".into(),
        unknown: vec![vm("300", "lc-999"), vm("10500", "rogue")],
        missing: vec![MissingServer { service_id: service, state: "active".into(), remote_id: Some("10000".into()) }],
        error: None,
    };
    assert_eq!(report, Report { upstreams: vec![expected.clone(), clean("zjmf-sh")] });
    assert_eq!(snapshot(&app).await, before, "nothing changed in our records or at the upstream");
    let sent = &app.proxmox.requests()[requests..];
    assert!(!sent.is_empty() && sent.iter().all(|r| r.method == "GET"), "only reads: {sent:?}");

    // Ids as strings read the same.
    app.proxmox.faults().ids_as_strings(true);
    assert_eq!(
        reconcile::report(&app.core, &admin).await.unwrap(),
        Report { upstreams: vec![expected, clean("zjmf-sh")] }
    );
    app.proxmox.faults().ids_as_strings(false);

    run_task(&app).await;
    assert_eq!(told(&app, ops).await, ["pve-hk: 2 unknown, 1 missing"]);
    assert_eq!(app.proxmox.vms().len(), before.2.len(), "the task deletes nothing either");
    assert_eq!(state(&app, service).await.0, "active", "nor changes the service");
});

db_test_with!(
    a_failed_listing_is_that_upstream_s_error_and_the_others_are_still_checked,
    |c: &mut lantian_core::config::Config| {
        let mut wrong = c.provisioning.upstreams[0].clone();
        wrong.name = "pve-wrong".into();
        wrong.token_secret = Secret::new("not-the-secret");
        let mut down = c.provisioning.upstreams[0].clone();
        down.name = "pve-down".into();
        down.endpoint = "http://127.0.0.1:1".into();
        c.provisioning.upstreams.extend([wrong, down]);
    },
    |app| {
        let (_, service) = active_service(&app).await;
        let (ops, admin) = admin(&app).await;
        let report = reconcile::report(&app.core, &admin).await.unwrap();
        let names: Vec<&str> = report.upstreams.iter().map(|u| u.upstream.as_str()).collect();
        assert_eq!(names, ["pve-down", "pve-hk", "pve-wrong", "zjmf-sh"]);
        assert!(matches!(report.upstreams[0].error, Some(ProvError::Transient(_))), "{:?}", report.upstreams[0]);
        assert_eq!(report.upstreams[1], clean("pve-hk"));
        assert!(matches!(report.upstreams[2].error, Some(ProvError::Auth(_))), "{:?}", report.upstreams[2]);
        for failed in [&report.upstreams[0], &report.upstreams[2]] {
            assert!(failed.unknown.is_empty() && failed.missing.is_empty(), "nothing is known of {}", failed.upstream);
        }

        run_task(&app).await;
        let whys = told(&app, ops).await;
        assert_eq!(whys.len(), 1);
        assert!(whys[0].starts_with("pve-down: the listing failed: "), "{}", whys[0]);
        assert!(
            whys[0].contains("; pve-wrong: the listing failed: the upstream refused our credentials"),
            "{}",
            whys[0]
        );
        assert_eq!(state(&app, service).await.0, "active");
    }
);
