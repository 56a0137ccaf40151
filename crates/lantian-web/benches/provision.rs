//! Provisioning throughput: N paid server orders (default 1,000) become active servers at the
//! Proxmox fake. The orders go through the real checkout and pay-with-balance paths (each
//! payment makes the service and queues its `provision` job in its transaction); then two
//! workers with the configured concurrency and poll interval run the jobs through the real
//! Proxmox module against the fake, every task of which (clone, resize, start) runs 50 ms,
//! until every service is active. Then the fake must hold exactly N VMs, no two of one name.
//! The fake and the workers share the same 2 cores.
//!
//! ```sh
//! cargo bench -p lantian-web --bench provision                       # SQLite (synchronous=FULL)
//! LANTIAN_BENCH_PG=postgres://postgres@127.0.0.1/postgres cargo bench -p lantian-web --bench provision
//! ```
//! Argument (after `--`): N.

// A benchmark, like a test, stops loudly on the first failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lantian_core::authz::{Principal, Role};
use lantian_core::billing::{self, CheckoutInput, Item};
use lantian_core::catalog::Cycle;
use lantian_core::jobs::{Registry, Worker};
use lantian_core::{Core, catalog, on_read, on_tx, provisioning, staff};
use lantian_fakes::proxmox::{ProxmoxFake, ProxmoxFakeSettings};
use lantian_fakes::smtp::{SmtpFake, SmtpFakeOptions};
use tokio_util::sync::CancellationToken;

/// How long a run may take before the bench gives up.
const GIVE_UP: Duration = Duration::from_secs(600);

/// The starter catalog with `s1` in Hong Kong served by the Proxmox fake, N of it in stock,
/// and an address per server (`seed_demo_targets` adds 20; these are from 198.18.0.0/15, the
/// benchmarking network of RFC 2544).
async fn seed_catalog(core: &Core, n: u32, staff: &Principal) -> (i64, i64) {
    let now = core.now();
    catalog::seed_starter_regions(core, now).await.unwrap();
    catalog::plans::seed_starter_plans(core, now).await.unwrap();
    provisioning::seed_demo_targets(core).await.unwrap();
    let plan: i64 = on_read!(&core.db, c => sqlx::query_scalar("SELECT id FROM plans WHERE code = 's1'").fetch_one(c).await.unwrap());
    let region: i64 = on_read!(&core.db, c => sqlx::query_scalar("SELECT id FROM regions WHERE code = 'hk-tko'").fetch_one(c).await.unwrap());
    catalog::plans::set_stock(core, staff, plan, region, i64::from(n), now).await.unwrap();
    let mut tx = core.db.begin().await.unwrap();
    for i in 0..n {
        let address = format!("198.{}.{}.{}", 18 + i / 62_500, i / 250 % 250 + 1, i % 250 + 1);
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO ip_pool (address, upstream, prefix_len, gateway) VALUES ($1, $2, 15, '198.18.0.1')").bind(address).bind(provisioning::DEMO_UPSTREAM).execute(c).await.unwrap().rows_affected());
    }
    tx.commit().await.unwrap();
    (plan, region)
}

/// A member of the billing staff (who also keep the stock).
async fn cashier(core: &Core) -> Principal {
    let input = staff::NewStaff {
        username: "cashier".into(),
        display_name: "Cashier".into(),
        email: "cashier@staff.example".into(),
        roles: vec![Role::Billing],
    };
    let (id, _) = staff::create(core, &Principal::System, input, &Default::default()).await.unwrap();
    Principal::Staff { id, roles: vec![Role::Billing] }
}

/// One customer with a verified e-mail buys `s1` monthly N times, one checkout each, and pays
/// each invoice from a balance staff credited.
async fn paid_orders(core: &Core, n: u32, (plan, region): (i64, i64), cashier: &Principal) {
    let mut tx = core.db.begin().await.unwrap();
    let customer: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO customers (username, username_key, email, email_verified_at, password_hash, age_bracket, lang, created_at) VALUES ('bench', 'bench', 'bench@bench.example', 0, 'x', 'adult', 'zh-CN', 0) RETURNING id").fetch_one(c).await.unwrap());
    tx.commit().await.unwrap();
    let item = Item { plan_id: plan, region_id: region, cycle: Cycle::Monthly, os_image: "debian-12".into() };
    let input = CheckoutInput { items: vec![item], coupon: String::new() };
    for i in 0..n {
        let placed = billing::checkout(core, customer, &input, core.now()).await.unwrap();
        if i == 0 {
            let total = placed.amount_fen * i64::from(n);
            billing::adjust_balance(core, cashier, customer, total, "bench prepayment", core.now()).await.unwrap();
        }
        billing::pay_with_balance(core, customer, placed.invoice_id, core.now()).await.unwrap();
    }
}

async fn count(core: &Core, sql: &'static str) -> i64 {
    on_read!(&core.db, c => sqlx::query_scalar(sql).fetch_one(c).await.unwrap())
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a number among the arguments sets N.
    let n: u32 = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(1_000);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let proxmox = ProxmoxFake::start(ProxmoxFakeSettings {
        task_duration: Duration::from_millis(50),
        ..ProxmoxFakeSettings::default()
    })
    .await
    .unwrap();
    let smtp = SmtpFake::start(SmtpFakeOptions { web_port: None, keep_last: 10, ..Default::default() }).await.unwrap();
    let core = support::core(dir.path(), "provision", |c| {
        // Each payment tells the customer: their mail goes to the SMTP fake.
        c.mail.port = smtp.smtp_addr().port();
        lantian_web::demo::point_provisioning_at(c, &proxmox);
        // A vmid for every server, with room to spare.
        let upstream = &mut c.provisioning.upstreams[0];
        upstream.vmid_last = upstream.vmid_first + 2 * n;
    })
    .await;
    let setup = Instant::now();
    let cashier = cashier(&core).await;
    let offer = seed_catalog(&core, n, &cashier).await;
    paid_orders(&core, n, offer, &cashier).await;
    let setup = setup.elapsed().as_secs_f64();
    let expected = i64::from(n);
    assert_eq!(count(&core, "SELECT COUNT(*) FROM services WHERE state = 'pending'").await, expected);
    assert_eq!(count(&core, "SELECT COUNT(*) FROM jobs WHERE kind = 'provision'").await, expected);

    let started = Instant::now();
    let stop = CancellationToken::new();
    let workers: Vec<_> =
        (0..2).map(|_| tokio::spawn(Worker::new(core.clone(), Registry::standard()).run(stop.child_token()))).collect();
    let mut first_active = None;
    loop {
        let active = count(&core, "SELECT COUNT(*) FROM services WHERE state = 'active'").await;
        if active > 0 && first_active.is_none() {
            first_active = Some(started.elapsed().as_secs_f64());
        }
        if active == expected {
            break;
        }
        let waiting = count(&core, "SELECT COUNT(*) FROM services WHERE state = 'needs_attention'").await;
        assert_eq!(waiting, 0, "a service waits for staff (services.last_error says why)");
        assert!(started.elapsed() < GIVE_UP, "stalled at {active} active");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    stop.cancel();
    for w in workers {
        w.await.unwrap();
    }

    let vms: Vec<_> = proxmox.vms().into_iter().filter(|vm| !vm.config.contains_key("template")).collect();
    let names: BTreeSet<&str> = vms.iter().map(|vm| vm.config["name"].as_str()).collect();
    let running = vms.iter().filter(|vm| vm.running).count();
    assert_eq!((vms.len(), names.len(), running), (n as usize, n as usize, n as usize), "one running VM per service");
    assert_eq!(count(&core, "SELECT COUNT(*) FROM jobs WHERE state = 'dead'").await, 0);
    let db = support::backend();
    let jobs = &core.config.jobs;
    println!(
        "{db}: {n} paid orders active in {secs:.1} s ({:.0}/s; the first after {:.2} s), 2 workers, concurrency {} \
         each, poll {} ms; VMs at the fake: {} with {} distinct names, all running; setup {setup:.1} s",
        f64::from(n) / secs,
        first_active.unwrap_or(secs),
        jobs.concurrency,
        jobs.poll_interval_ms,
        vms.len(),
        names.len(),
    );
}
