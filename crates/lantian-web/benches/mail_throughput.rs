//! E-mail throughput: 10,000 queued notices sent through real SMTP to the fake by two workers
//! (each at the configured concurrency) on SQLite. Prints messages per second.
//! Run: `cargo bench -p lantian-web --bench mail_throughput [-- COUNT]`.

// A benchmark, like a test, stops loudly on the first failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lantian_core::authz::{Principal, Role, Subject};
use lantian_core::clock::SystemClock;
use lantian_core::config::{Config, Secret};
use lantian_core::crypto::keyring::{self, KeyFile};
use lantian_core::db::{self, Access, Db};
use lantian_core::jobs::{Registry, Worker};
use lantian_core::notify::{self, Args, Event};
use lantian_core::{Core, staff};
use lantian_fakes::smtp::{SmtpFake, SmtpFakeOptions};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a number among the arguments sets the count.
    let count: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(10_000);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp =
        SmtpFake::start(SmtpFakeOptions { web_port: None, keep_last: 10, ..Default::default() }).await.expect("smtp");
    let mut c = Config::load_with_env(None, figment::providers::Env::raw().only(&[])).expect("config");
    c.database.url = Secret::new(format!("sqlite://{}", dir.path().join("bench.db").display()));
    c.keys.inline = Secret::new(KeyFile::generate().to_toml());
    c.mail.port = smtp.smtp_addr().port();
    c.jobs.poll_interval_ms = 10;
    let db = Db::open(&c.database, Access::Exclusive).await.expect("db");
    db::migrate(&db).await.expect("migrate");
    let keys = Arc::new(keyring::from_config(&c.keys).expect("keys"));
    let core = Core::new(db, Arc::new(c), Arc::new(SystemClock), keys).expect("core");
    let input = staff::NewStaff {
        username: "ops".into(),
        display_name: "Ops".into(),
        email: "ops@x.example".into(),
        roles: vec![Role::Admin],
    };
    let (id, _) = staff::create(&core, &Principal::System, input, &Default::default()).await.expect("staff");
    for chunk in 0..count.div_ceil(500) {
        let mut tx = core.db.begin().await.expect("tx");
        for _ in 0..500.min(count - chunk * 500) {
            notify::notify(&mut tx, &core, Subject::staff(id), Event::PasswordChanged, Args::new(), core.now())
                .await
                .expect("notify");
        }
        tx.commit().await.expect("commit");
    }
    let started = Instant::now();
    let stop = CancellationToken::new();
    let workers: Vec<_> =
        (0..2).map(|_| tokio::spawn(Worker::new(core.clone(), Registry::standard()).run(stop.child_token()))).collect();
    while (smtp.received_count() as usize) < count {
        assert!(started.elapsed() < Duration::from_secs(600), "stalled at {} messages", smtp.received_count());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    stop.cancel();
    for w in workers {
        let _ = w.await;
    }
    println!(
        "{count} e-mails in {secs:.2} s: {:.0} messages/s (2 workers, concurrency {} each, SQLite)",
        count as f64 / secs,
        core.config.jobs.concurrency
    );
}
