//! Gateway notifications processed end to end over HTTP: a release build of the application
//! on loopback, N invoices awaiting payment, then N valid signed notifications sent with
//! `CONCURRENCY` in flight (each its own transaction: record, claim, pay), then the same N
//! again (duplicates, absorbed by the payload hash). The client runs on the same 2 cores.
//!
//! ```sh
//! cargo bench -p lantian-web --bench notify                       # SQLite (synchronous=FULL)
//! LANTIAN_BENCH_PG=postgres://postgres@127.0.0.1/postgres cargo bench -p lantian-web --bench notify
//! ```
//! Arguments (after `--`): N (default 5000), CONCURRENCY (default 32).

// A benchmark, like a test, stops loudly on the first failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use lantian_core::accesslog::AccessLogWriter;
use lantian_core::config::{PaymentsProvider, Secret};
use lantian_core::{Core, on_read, on_tx};
use lantian_web::{AppState, Application};
use md5::{Digest, Md5};
use tokio_util::sync::CancellationToken;

const KEY: &str = "LantianBenchKey";

/// N unpaid invoices of 29.00 for servers (the common case: no balance to credit), each with a
/// started payment `B{i}`.
async fn seed(core: &Core, n: i64) {
    // Real server orders: paying one also makes its service and queues its provisioning job.
    lantian_core::catalog::seed_starter_regions(core, lantian_core::UnixMs(0)).await.unwrap();
    lantian_core::catalog::plans::seed_starter_plans(core, lantian_core::UnixMs(0)).await.unwrap();
    lantian_core::provisioning::seed_demo_targets(core).await.unwrap();
    let plan: i64 = on_read!(&core.db, c => sqlx::query_scalar("SELECT id FROM plans WHERE code = 's1'").fetch_one(c).await.unwrap());
    let region: i64 = on_read!(&core.db, c => sqlx::query_scalar("SELECT id FROM regions WHERE code = 'hk-tko'").fetch_one(c).await.unwrap());
    let mut tx = core.db.begin().await.unwrap();
    // A customer to tell: each payment applied also queues their notice (mail and in-site).
    let customer: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO customers (username, username_key, email, email_verified_at, password_hash, age_bracket, lang, created_at) VALUES ('bench', 'bench', 'bench@bench.example', 0, 'x', 'adult', 'zh-CN', 0) RETURNING id").fetch_one(c).await.unwrap());
    on_tx!(&mut tx, c => sqlx::query("INSERT INTO billing_accounts (id, customer_id, balance_fen, created_at) VALUES ('ABENCH', $1, 0, 0)").bind(customer).execute(c).await.unwrap().rows_affected());
    for i in 0..n {
        let order: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO orders (account_id, kind, plan_id, region_id, os_image, cycle, months, discount_fen, amount_fen, state, created_at) VALUES ('ABENCH', 'new', $1, $2, 'debian-12', 'monthly', 1, 0, 2900, 'pending', 0) RETURNING id").bind(plan).bind(region).fetch_one(c).await.unwrap());
        let invoice: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("INSERT INTO invoices (number, account_id, kind, buyer_username, item_zh, item_en, price_fen, discount_fen, amount_fen, state, issued_at) VALUES ($1, 'ABENCH', 'services', 'bench', '入门型 1核1G', 'Starter 1 vCPU 1 GB', 2900, 0, 2900, 'unpaid', 0) RETURNING id").bind(format!("BENCH-{i}")).fetch_one(c).await.unwrap());
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO invoice_lines (order_id, invoice_id, item_zh, item_en, price_fen, discount_fen, amount_fen) VALUES ($1, $2, '入门型 1核1G', 'Starter 1 vCPU 1 GB', 2900, 0, 2900)").bind(order).bind(invoice).execute(c).await.unwrap().rows_affected());
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO payments (out_trade_no, invoice_id, channel, amount_fen, state, created_at) VALUES ($1, $2, 'alipay', 2900, 'started', 0)").bind(format!("B{i}")).bind(invoice).execute(c).await.unwrap().rows_affected());
    }
    tx.commit().await.unwrap();
}

fn notify_url(base: &str, i: i64) -> String {
    let p: BTreeMap<&str, String> = [
        ("pid", "1001".to_string()),
        ("trade_no", format!("T{i}")),
        ("out_trade_no", format!("B{i}")),
        ("type", "alipay".into()),
        ("name", "bench".into()),
        ("money", "29.00".into()),
        ("trade_status", "TRADE_SUCCESS".into()),
    ]
    .into();
    let content: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let digest = Md5::digest(format!("{}{KEY}", content.join("&")).as_bytes());
    let sign: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{base}/pay/coopay/notify?{}&sign={sign}&sign_type=MD5", content.join("&"))
}

async fn send_all(client: &reqwest::Client, urls: &[String], concurrency: usize) -> f64 {
    let started = Instant::now();
    let answers: Vec<String> = futures::stream::iter(urls)
        .map(|u| async move { client.get(u).send().await.unwrap().text().await.unwrap() })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    assert!(answers.iter().all(|a| a == "success"), "every notification recorded");
    urls.len() as f64 / secs
}

async fn count(core: &Core, sql: &'static str) -> i64 {
    on_read!(&core.db, c => sqlx::query_scalar(sql).fetch_one(c).await.unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let n: i64 = args.first().map_or(5000, |a| a.parse().expect("N"));
    let concurrency: usize = args.get(1).map_or(32, |a| a.parse().expect("CONCURRENCY"));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let core = support::core(dir.path(), "notify", |c| {
            c.server.public_url = base.clone();
            c.payments.provider = PaymentsProvider::Coopay;
            c.payments.base_url = "http://127.0.0.1:9/".into();
            c.payments.pid = "1001".into();
            c.payments.key = Secret::new(KEY);
        })
        .await;
        seed(&core, n).await;
        let (log, _writer) = AccessLogWriter::start(core.clone());
        let app = Application::on_listener(AppState::new(core.clone(), false, log), listener);
        let stop = CancellationToken::new();
        tokio::spawn(app.run(stop.clone()));
        let client = reqwest::Client::new();
        let urls: Vec<String> = (0..n).map(|i| notify_url(&base, i)).collect();
        let fresh = send_all(&client, &urls, concurrency).await;
        assert_eq!(count(&core, "SELECT COUNT(*) FROM invoices WHERE state = 'paid'").await, n);
        let repeated = send_all(&client, &urls, concurrency).await;
        assert_eq!(count(&core, "SELECT COUNT(*) FROM payment_callbacks").await, n, "repeats absorbed");
        assert_eq!(count(&core, "SELECT COUNT(*) FROM payments WHERE state = 'paid'").await, n);
        assert!(count(&core, "SELECT COUNT(*) FROM jobs").await >= 2 * n, "a notice and a provisioning per payment");
        assert_eq!(count(&core, "SELECT COUNT(*) FROM services").await, n, "a service per paid server");
        let db = support::backend();
        println!(
            "{db}: {n} notifications, {concurrency} in flight: {fresh:.0}/s processed; duplicates {repeated:.0}/s"
        );
        stop.cancel();
    });
}
