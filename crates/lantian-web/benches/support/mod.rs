//! What the benchmarks share: a `Core` on SQLite (in a temporary directory) or, with
//! `LANTIAN_BENCH_PG` set, on a fresh PostgreSQL database of its own, migrated and keyed.

use std::sync::Arc;

use lantian_core::Core;
use lantian_core::clock::SystemClock;
use lantian_core::config::{Config, Secret};
use lantian_core::crypto::keyring::{self, KeyFile};
use lantian_core::db::{self, Access, Db};

/// `postgres` or `sqlite`, as the run uses.
pub fn backend() -> &'static str {
    if std::env::var("LANTIAN_BENCH_PG").is_ok() { "postgres" } else { "sqlite" }
}

/// A migrated database and a core on it; `adjust` sets what the benchmark needs in the config.
pub async fn core(dir: &std::path::Path, name: &str, adjust: impl FnOnce(&mut Config)) -> Core {
    let mut c = Config::load_with_env(None, figment::providers::Env::raw().only(&[])).expect("config");
    c.database.url = Secret::new(match std::env::var("LANTIAN_BENCH_PG") {
        Ok(url) => fresh_pg(&url, name).await,
        Err(_) => format!("sqlite://{}", dir.join("bench.db").display()),
    });
    c.keys.inline = Secret::new(KeyFile::generate().to_toml());
    adjust(&mut c);
    let db = Db::open(&c.database, Access::Exclusive).await.expect("db");
    db::migrate(&db).await.expect("migrate");
    let keys = Arc::new(keyring::from_config(&c.keys).expect("keys"));
    Core::new(db, Arc::new(c), Arc::new(SystemClock), keys).expect("core")
}

/// A new database on the server of `url`, so runs do not see each other's rows.
async fn fresh_pg(url: &str, name: &str) -> String {
    let name = format!("lantian_{name}_bench_{}", std::process::id());
    let admin = sqlx::PgPool::connect(url).await.expect("postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.expect("create db");
    format!("{}/{name}", url.rsplit_once('/').expect("a database in the URL").0)
}
