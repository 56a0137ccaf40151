//! What the access log costs per request. Drives the application's router in-process
//! (`tower::ServiceExt::oneshot`: no sockets, one current-thread runtime) with N GET requests,
//! the router built once with and once without the access-log layer, on SQLite with the
//! production settings, and waits until every row is written (so the batched INSERTs and their
//! commits are part of the run).
//!
//! Instructions are counted with callgrind (this machine has no hardware counters for perf),
//! zeroed after set-up and a warm-up and dumped after the last row is written (see
//! [`wait_for_go`]), so each count covers exactly the N requests and their rows.
//!
//! ```sh
//! scripts/bench-access-log        # with and without, counted over the requests alone
//! ```
//!
//! Arguments: `with|without PATH N [BATCH]`. `/account` pages are requested as the seeded
//! customer `bench`. BATCH is how many rows each write holds: at the page's full load (about
//! 7,800 requests/s) the writer's 10 ms window gathers some 78. Under callgrind, which runs the
//! program some 50 times slower, a time window would gather fewer and a varying number, so the
//! window is set far beyond the run and the bench flushes the writer after every BATCH requests:
//! the same batches in every run. Without arguments (`cargo bench -p lantian-web --bench
//! access_log`) it prints the wall-clock time per request of every case instead, with the
//! production window.

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
async fn setup(dir: &std::path::Path, batch: Option<u32>) -> (Core, String) {
    let mut c = Config::load_with_env(None, figment::providers::Env::raw().only(&[])).expect("config");
    if batch.is_some() {
        c.logs.write_window_ms = 3_600_000;
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

/// `n` requests of `path` one after the other, the log flushed every `batch` requests if given;
/// returns the time until the last row is written.
async fn drive(core: &Core, session: &str, with_log: bool, path: &str, n: u32, batch: Option<u32>) -> Duration {
    let (log, writer) = AccessLogWriter::start(core.clone());
    let state = AppState::new(core.clone(), false, log.clone());
    let app = if with_log { lantian_web::router(state) } else { lantian_web::app::router_without_access_log(state) };
    let before = logged_rows(core).await;
    let started = Instant::now();
    for i in 1..=n {
        let req = http::Request::get(path)
            .header("user-agent", UA)
            .header("cookie", format!("lantian_session={session}"))
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        if batch.is_some_and(|b| i % b == 0) {
            log.flush().await;
        }
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

/// With `LANTIAN_BENCH_PAUSE` set, the run stops before and after the measured requests: it
/// says `ready` / `done` and waits for a line on standard input, so that the script can zero
/// and dump callgrind's counts there (`callgrind_control`), leaving set-up and teardown out.
fn wait_for_go(what: &str) {
    use std::io::{BufRead, Write};
    println!("{what}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
}

fn main() {
    // `cargo bench` passes `--bench`; only the positional arguments are ours.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let batch = args.get(3).map(|b| b.parse().expect("BATCH: rows per write"));
    let (core, session) = rt.block_on(setup(dir.path(), batch));
    match args.as_slice() {
        [variant, path, n] | [variant, path, n, _] => {
            let with_log = match variant.as_str() {
                "with" => true,
                "without" => false,
                other => panic!("`{other}`: expected `with` or `without`"),
            };
            let n: u32 = n.parse().expect("N: a number of requests");
            let pause = std::env::var_os("LANTIAN_BENCH_PAUSE").is_some();
            if pause {
                // Warm caches and prepared statements, then let the script zero the counts.
                rt.block_on(drive(&core, &session, with_log, path, 300, batch));
                wait_for_go("ready");
            }
            let took = rt.block_on(drive(&core, &session, with_log, path, n, batch));
            if pause {
                wait_for_go("done");
            }
            println!("{variant} {path} {n}: {:.1} µs per request", took.as_secs_f64() * 1e6 / f64::from(n));
        }
        [] => {
            let n = 5_000;
            // `/healthz` and `/readyz` are probes, never logged: nothing to compare there.
            for path in ["/account", "/"] {
                rt.block_on(drive(&core, &session, true, path, 500, None)); // warm-up: caches, prepared statements
                for (name, with_log) in [("without", false), ("with", true), ("without", false), ("with", true)] {
                    let took = rt.block_on(drive(&core, &session, with_log, path, n, None));
                    let us = took.as_secs_f64() * 1e6 / f64::from(n);
                    println!("{path:<9} {name:<8} access log: {us:>6.1} µs per request ({n} requests)");
                }
            }
        }
        _ => panic!("usage: access_log [with|without PATH N [BATCH]]"),
    }
    // The SMTP pool inside `Core` must be dropped inside the runtime.
    rt.block_on(async move {
        core.db.close().await;
        drop(core);
    });
}
