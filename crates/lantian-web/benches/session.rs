//! What a signed-in staff request costs beyond an anonymous one: the session look-up (token
//! hash, one indexed read) plus loading the member and checking a permission, on SQLite.
//! Run: `cargo bench -p lantian-web --bench session`.

// A benchmark, like a test, stops loudly on the first failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use lantian_core::authz::{Permission, Principal, Role, Subject};
use lantian_core::clock::SystemClock;
use lantian_core::config::{Config, Secret};
use lantian_core::crypto::keyring::{self, KeyFile};
use lantian_core::db::{self, Access, Db};
use lantian_core::sessions::{self, Stage};
use lantian_core::{Core, staff};

async fn setup(dir: &std::path::Path) -> (Core, String) {
    let mut c = Config::load_with_env(None, figment::providers::Env::raw().only(&[])).expect("config");
    c.database.url = Secret::new(format!("sqlite://{}", dir.join("bench.db").display()));
    c.keys.inline = Secret::new(KeyFile::generate().to_toml());
    c.security.argon2_memory_kib = 64;
    c.security.argon2_iterations = 1;
    let db = Db::open(&c.database, Access::Exclusive).await.expect("db");
    db::migrate(&db).await.expect("migrate");
    let keys = Arc::new(keyring::from_config(&c.keys).expect("keys"));
    let core = Core::new(db, Arc::new(c), Arc::new(SystemClock), keys).expect("core");
    let input = staff::NewStaff {
        username: "bench".into(),
        display_name: "Bench".into(),
        email: "b@x.example".into(),
        roles: vec![Role::Support],
    };
    let (id, _) = staff::create(&core, &Principal::System, input, &Default::default()).await.expect("staff");
    let (token, _) = sessions::start(&core, Subject::staff(id), Stage::Active, &Default::default(), core.now())
        .await
        .expect("session");
    (core, token)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (core, token) = rt.block_on(setup(dir.path()));
    c.bench_function("staff session: look-up + member + permission (SQLite)", |b| {
        b.to_async(&rt).iter(|| async {
            let s = sessions::lookup(&core, &token, core.now()).await.expect("lookup").expect("live");
            let m = staff::get(&core, s.subject_id).await.expect("member");
            staff::principal_of(&m).require(Permission::Console).expect("allowed");
        })
    });
    c.bench_function("anonymous request: no session cookie, nothing to look up", |b| {
        b.to_async(&rt)
            .iter(|| async { std::hint::black_box(sessions::lookup(&core, "", core.now()).await.expect("lookup")) })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
