//! The lifecycle run (`provisioning.lifecycle`) over N active services (default 100,000) whose
//! expiries are spread evenly over 60 days, from 10 days ago to 50 days ahead: about 1,670
//! services expire each day. Three runs are timed:
//!
//! 1. the first run: everything due at once (renewal invoices for all within 7 days of expiry
//!    or past it, reminders, suspension of the 1–6 days overdue, termination of the 7+ days
//!    overdue), the worst case after a long stop;
//! 2. the same instant again: nothing to do, the cost of the scans alone;
//! 3. one day later: a day's worth of work, what a running installation does each day.
//!
//! ```sh
//! cargo bench -p lantian-web --bench lifecycle                      # SQLite
//! LANTIAN_BENCH_PG=postgres://postgres@127.0.0.1/postgres cargo bench -p lantian-web --bench lifecycle
//! ```
//! Argument (after `--`): N.

// A benchmark, like a test, stops loudly on the first failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use lantian_core::provisioning::lifecycle;
use lantian_core::{Core, UnixMs, on_read, on_tx};

const DAY_MS: i64 = 86_400_000;

/// N active services of one customer, bought and paid, expiring from 10 days before `now` to
/// 50 days after.
async fn analyze(core: &Core) {
    let mut tx = core.db.begin().await.unwrap();
    on_tx!(&mut tx, c => sqlx::query("ANALYZE").execute(c).await.unwrap().rows_affected());
    tx.commit().await.unwrap();
}

async fn seed(core: &Core, n: i64, now: UnixMs) {
    lantian_core::catalog::seed_starter_regions(core, UnixMs(0)).await.unwrap();
    lantian_core::catalog::plans::seed_starter_plans(core, UnixMs(0)).await.unwrap();
    let plan: i64 = on_read!(&core.db, c => sqlx::query_scalar("SELECT id FROM plans WHERE code = 's1'").fetch_one(c).await.unwrap());
    let region: i64 = on_read!(&core.db, c => sqlx::query_scalar("SELECT id FROM regions WHERE code = 'hk-tko'").fetch_one(c).await.unwrap());
    let mut tx = core.db.begin().await.unwrap();
    let customer: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO customers (username, username_key, email, email_verified_at, password_hash, age_bracket, lang, created_at) VALUES ('bench', 'bench', 'bench@bench.example', 0, 'x', 'adult', 'zh-CN', 0) RETURNING id").fetch_one(c).await.unwrap());
    on_tx!(&mut tx, c => sqlx::query("INSERT INTO billing_accounts (id, customer_id, balance_fen, created_at) VALUES ('ABENCH', $1, 0, 0)").bind(customer).execute(c).await.unwrap().rows_affected());
    const ORDERS: &str = "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO orders (account_id, kind, plan_id, region_id, os_image, cycle, months, discount_fen, amount_fen, \
         state, created_at, paid_at) SELECT 'ABENCH', 'new', $2, $3, 'debian-12', 'monthly', 1, 0, 2900, 'paid', 0, 0 FROM n";
    on_tx!(&mut tx, c => sqlx::query(ORDERS).bind(n).bind(plan).bind(region).execute(c).await.unwrap().rows_affected());
    const SERVICES: &str = "INSERT INTO services (order_id, account_id, customer_id, plan_id, region_id, os_image, months, \
         upstream, target, state, desired, remote_id, created_at, activated_at, expires_at) \
         SELECT o.id, o.account_id, $1, o.plan_id, o.region_id, o.os_image, 1, 'pve-hk', '9000', 'active', 'active', \
         CAST(o.id AS TEXT), 0, 0, $2 + (o.id % 60 - 10) * $3 + (o.id * 7919) % $3 FROM orders o";
    on_tx!(&mut tx, c => sqlx::query(SERVICES).bind(customer).bind(now.0).bind(DAY_MS).execute(c).await.unwrap().rows_affected());
    tx.commit().await.unwrap();
}

async fn timed(core: &Core, label: &str, now: UnixMs) {
    let started = Instant::now();
    let report = lifecycle::run(core, now).await;
    let secs = started.elapsed().as_secs_f64();
    assert!(report.failed.is_empty(), "{report:?}");
    println!(
        "  {label}: {secs:.2} s — {} renewal invoices, {} reminders, {} to suspend, {} to terminate",
        report.renewal_invoices, report.reminders, report.suspended, report.terminated
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let n: i64 = args.first().map_or(100_000, |a| a.parse().expect("N"));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let core = support::core(dir.path(), "lifecycle", |_| {}).await;
        let now = core.now();
        let started = Instant::now();
        seed(&core, n, now).await;
        println!("{}: {n} services seeded in {:.1} s", support::backend(), started.elapsed().as_secs_f64());
        // A live database has its planner statistics (autovacuum gathers them after bulk
        // changes); without them PostgreSQL takes the 100,000 fresh rows for a few dozen and
        // sorts each batch's candidates instead of walking the primary key.
        if support::backend() == "postgres" {
            analyze(&core).await;
        }
        timed(&core, "first run, everything due", now).await;
        timed(&core, "again, nothing due", now).await;
        timed(&core, "a day later", now.plus(Duration::from_millis(DAY_MS as u64))).await;
    });
}
