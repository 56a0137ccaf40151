//! What the access log costs per request. Drives the application's router in-process
//! (`tower::ServiceExt::oneshot`: no sockets, one current-thread runtime) with N GET requests,
//! the router built once with and once without the access-log layer, on SQLite with the
//! production settings, and waits until every row is written (so the batched INSERTs and their
//! commits are part of the run).
//!
//! Instructions are counted with callgrind (this machine has no hardware counters for perf).
//! Two runs per case with different N cancel the set-up (migrations, seeding):
//!
//! ```sh
//! cargo bench -p lantian-web --bench access_log --no-run      # prints the binary's path
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null BIN with /account 500 500
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null BIN with /account 1500 500
//! # instructions per request = (Collected(1500) - Collected(500)) / 1000
//! ```
//!
//! Arguments: `with|without PATH N [WINDOW_MS]`. `/account` pages are requested as the seeded
//! customer `bench`. WINDOW_MS sets `logs.write_window_ms`: callgrind runs the program some 50
//! times slower, so a batch gathers as many rows as natively only in a window 50 times longer.
//! Without arguments (`cargo bench -p lantian-web --bench
//! access_log`) it prints the wall-clock time per request of every case instead.

// A benchmark, like a test, stops loudly on the first failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use lantian_core::accesslog::AccessLogWriter;
use lantian_core::clock::SystemClock;
use lantian_core::config::{Config, Secret};
use lantian_core::crypto::keyring::{self, KeyFile};
use lantian_core::db::{self, Access, Db};
use lantian_core::{Core, on_read};
use lantian_web::AppState;
use tower::ServiceExt;

const UA: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// The core, and the session token of the seeded customer `bench` (for `/account` pages).
async fn setup(dir: &std::path::Path, window_ms: Option<u64>) -> (Core, String) {
    let mut c = Config::load_with_env(None, figment::providers::Env::raw().only(&[])).expect("config");
    if let Some(ms) = window_ms {
        c.logs.write_window_ms = ms;
    }
    c.database.url = Secret::new(format!("sqlite://{}", dir.join("bench.db").display()));
    c.keys.inline = Secret::new(KeyFile::generate().to_toml());
    let db = Db::open(&c.database, Access::Exclusive).await.expect("db");
    db::migrate(&db).await.expect("migrate");
    let keys = Arc::new(keyring::from_config(&c.keys).expect("keys"));
    let core = Core::new(db, Arc::new(c), Arc::new(SystemClock), keys).expect("core");
    let seeded = lantian_core::bench_data::generate(&core, 0).await.expect("seed");
    (core, seeded.session)
}

async fn logged_rows(core: &Core) -> i64 {
    on_read!(&core.db, c => sqlx::query_scalar("SELECT COUNT(*) FROM access_log").fetch_one(c).await.expect("count"))
}

/// `n` requests of `path` one after the other; returns the time until the last row is written.
async fn drive(core: &Core, session: &str, with_log: bool, path: &str, n: u32) -> Duration {
    let (log, writer) = AccessLogWriter::start(core.clone());
    let state = AppState::new(core.clone(), false, log.clone());
    let app = if with_log { lantian_web::router(state) } else { lantian_web::app::router_without_access_log(state) };
    let before = logged_rows(core).await;
    let started = Instant::now();
    for _ in 0..n {
        let req = http::Request::get(path)
            .header("user-agent", UA)
            .header("cookie", format!("lantian_session={session}"))
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    }
    log.flush().await;
    let took = started.elapsed();
    let expected = if with_log { i64::from(n) } else { 0 };
    assert_eq!(logged_rows(core).await - before, expected, "one row per request, and only with the layer");
    drop(app);
    log.close().await;
    writer.await.unwrap();
    took
}

fn main() {
    // `cargo bench` passes `--bench`; only the positional arguments are ours.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let window_ms = args.get(3).map(|ms| ms.parse().expect("WINDOW_MS: milliseconds"));
    let (core, session) = rt.block_on(setup(dir.path(), window_ms));
    match args.as_slice() {
        [variant, path, n] | [variant, path, n, _] => {
            let with_log = match variant.as_str() {
                "with" => true,
                "without" => false,
                other => panic!("`{other}`: expected `with` or `without`"),
            };
            let n: u32 = n.parse().expect("N: a number of requests");
            let took = rt.block_on(drive(&core, &session, with_log, path, n));
            println!("{variant} {path} {n}: {:.1} µs per request", took.as_secs_f64() * 1e6 / f64::from(n));
        }
        [] => {
            let n = 5_000;
            for path in ["/account", "/", "/healthz"] {
                rt.block_on(drive(&core, &session, true, path, 500)); // warm-up: caches, prepared statements
                for (name, with_log) in [("without", false), ("with", true), ("without", false), ("with", true)] {
                    let took = rt.block_on(drive(&core, &session, with_log, path, n));
                    let us = took.as_secs_f64() * 1e6 / f64::from(n);
                    println!("{path:<9} {name:<8} access log: {us:>6.1} µs per request ({n} requests)");
                }
            }
        }
        _ => panic!("usage: access_log [with|without PATH N [WINDOW_MS]]"),
    }
    // The SMTP pool inside `Core` must be dropped inside the runtime.
    rt.block_on(async move {
        core.db.close().await;
        drop(core);
    });
}
