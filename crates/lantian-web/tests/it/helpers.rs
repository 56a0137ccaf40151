//! `spawn_app`: the whole application on 127.0.0.1:0 with a manual clock, a cookie-keeping
//! client and no in-process worker (tests step jobs), on SQLite or PostgreSQL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::Duration;

use figment::providers::Env;
use lantian_core::clock::ManualClock;
use lantian_core::config::{Config, Secret};
use lantian_core::crypto::keyring::{self, KeyFile};
use lantian_core::db::{self, Access, Db, DbKind};
use lantian_core::jobs::{Registry, Worker};
use lantian_core::{Core, UnixMs};
use lantian_fakes::aliyun_kyc::{AliyunKycFake, AliyunKycFakeSettings};
use lantian_fakes::aliyun_sms::{AliyunSmsFake, AliyunSmsFakeOptions};
use lantian_fakes::epay::{EpayFake, EpayFakeSettings, RsaKeyPair};
use lantian_fakes::proxmox::{ProxmoxFake, ProxmoxFakeSettings};
use lantian_fakes::smtp::{SmtpFake, SmtpFakeOptions};
use lantian_fakes::zjmf::{ZjmfFake, ZjmfFakeSettings};
use lantian_web::{AppState, Application};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// 2026-01-01T00:00:00Z: in the past, so jobs due "now" on the manual clock are also due for
/// a worker on the system clock.
pub const T0: UnixMs = UnixMs(1_767_225_600_000);

/// Generates `sqlite` and `postgres` variants of a database test.
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::helpers::spawn_app(lantian_core::db::DbKind::Sqlite).await.unwrap();
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::helpers::spawn_app(lantian_core::db::DbKind::Postgres).await else { return };
                $body
            }
        }
    };
}

/// `db_test!` with a configuration change.
macro_rules! db_test_with {
    ($name:ident, $adjust:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::helpers::spawn_app_with(lantian_core::db::DbKind::Sqlite, $adjust).await.unwrap();
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($app) = $crate::helpers::spawn_app_with(lantian_core::db::DbKind::Postgres, $adjust).await
                else {
                    return;
                };
                $body
            }
        }
    };
}

pub struct TestApp {
    pub smtp: SmtpFake,
    pub sms: AliyunSmsFake,
    /// The payment gateway (EPay V1); its notifications reach this app.
    pub epay: EpayFake,
    /// The real-name provider (Aliyun Cloudauth); see its outcome table.
    pub kyc: AliyunKycFake,
    /// The Proxmox VE cluster of upstream `pve-hk` (`demo::point_provisioning_at`); its tasks
    /// run by the app's clock.
    pub proxmox: ProxmoxFake,
    /// The 魔方 V10 reseller upstream `zjmf-sh` (`demo::add_reseller`), by the app's clock.
    pub zjmf: ZjmfFake,
    pub addr: SocketAddr,
    pub base: String,
    pub core: Core,
    pub clock: Arc<ManualClock>,
    /// Keeps cookies; does not follow redirects, so tests see them.
    pub client: reqwest::Client,
    pub db: TestDb,
    /// The app's access log; `flush().await` before looking at `access_log` rows.
    pub access_log: lantian_core::accesslog::AccessLogHandle,
    shutdown: CancellationToken,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A worker over this app's database running the product's job kinds.
    pub fn worker(&self) -> Worker {
        Worker::new(self.core.clone(), Registry::standard())
    }

    pub fn worker_with(&self, registry: Registry) -> Worker {
        Worker::new(self.core.clone(), registry)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// A fresh client with its own cookie jar (another browser).
    pub fn new_client(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The test's own database: a temporary SQLite file, or a PostgreSQL database copied from the
/// migrated template and dropped afterwards.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let (Some(name), Some(base)) = (self.pg_name.take(), pg_base_url()) {
            // Drop cannot await; a short-lived runtime on a plain thread can.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(pool) = sqlx::PgPool::connect(&base).await {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn pg_base_url() -> Option<String> {
    std::env::var("LANTIAN_TEST_PG").ok().filter(|s| !s.is_empty())
}

fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// The defaults, as an operator would get them, with test-friendly timings.
pub fn test_config(url: &str) -> Config {
    let mut c = Config::load_with_env(None, Env::raw().only(&[])).unwrap();
    c.database.url = Secret::new(url);
    c.database.max_connections = 4;
    c.jobs.max_attempts = 3;
    c.jobs.backoff_base_secs = 10;
    c.jobs.backoff_max_secs = 60;
    c.jobs.in_process_worker = false;
    // Cheap hashing in tests; one test keeps the production parameters.
    c.security.argon2_memory_kib = 64;
    c.security.argon2_iterations = 1;
    c.keys.inline = Secret::new(KeyFile::generate().to_toml());
    c
}

/// Creates (once per run, whatever the number of test processes) a migrated template named
/// after the migrations' hash, then a fresh database from it for this test.
pub async fn new_test_db(kind: DbKind) -> Option<TestDb> {
    match kind {
        DbKind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("lantian.db").display());
            Some(TestDb { url, _dir: Some(dir), pg_name: None })
        }
        DbKind::Postgres => {
            let Some(base) = pg_base_url() else {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("LANTIAN_TEST_PG is not set: CI must run the PostgreSQL tests (use scripts/test)");
                }
                eprintln!("skipped: LANTIAN_TEST_PG is not set (scripts/test starts a throwaway PostgreSQL)");
                return None;
            };
            let template = ensure_pg_template(&base).await;
            let name = format!("lantian_t_{}", uuid::Uuid::new_v4().simple());
            let pool = sqlx::PgPool::connect(&base).await.unwrap();
            let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
            pool.close().await;
            Some(TestDb { url: with_database(&base, &name), _dir: None, pg_name: Some(name) })
        }
    }
}

pub fn with_database(base: &str, name: &str) -> String {
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{name}")
}

fn migrations_hash() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.file_name().unwrap().to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap());
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

async fn ensure_pg_template(base: &str) -> String {
    let name = format!("lantian_tpl_{}", migrations_hash());
    let pool = sqlx::PgPool::connect(base).await.unwrap();
    let exists = |pool: sqlx::PgPool, name: String| async move {
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    if !exists(pool.clone(), name.clone()).await {
        // Test processes race here; an advisory lock lets one build the template.
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("SELECT pg_advisory_lock(727274)").execute(&mut *conn).await.unwrap();
        if !exists(pool.clone(), name.clone()).await {
            let building = format!("{name}_building");
            let drop = format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)");
            sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut *conn).await.unwrap();
            let create = format!("CREATE DATABASE \"{building}\"");
            sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut *conn).await.unwrap();
            let cfg = test_config(&with_database(base, &building));
            let db = Db::open(&cfg.database, Access::Exclusive).await.unwrap();
            db::migrate(&db).await.unwrap();
            db.close().await;
            // The rename makes the finished template appear at once, never half-migrated.
            let rename = format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"");
            sqlx::query(sqlx::AssertSqlSafe(rename)).execute(&mut *conn).await.unwrap();
        }
        sqlx::query("SELECT pg_advisory_unlock(727274)").execute(&mut *conn).await.unwrap();
    }
    pool.close().await;
    name
}

pub async fn spawn_app(kind: DbKind) -> Option<TestApp> {
    spawn_app_with(kind, |_| {}).await
}

/// The gateway's platform key: a fixed test key (generating one takes seconds in a debug
/// build, and every test is its own process).
pub fn platform_key() -> RsaKeyPair {
    RsaKeyPair::from_private_key_pem(PLATFORM_PRIVATE_PEM).unwrap()
}

pub const PLATFORM_PRIVATE_PEM: &str =
    include_str!("../../../lantian-core/src/payments/coopay/testdata/platform_private.pem");

pub async fn spawn_app_with(kind: DbKind, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    install_crypto();
    let test_db = new_test_db(kind).await?;
    let mut config = test_config(&test_db.url);
    let clock = Arc::new(ManualClock::new(T0));
    let now = lantian_web::demo::fake_clock(clock.clone());
    let smtp =
        SmtpFake::start(SmtpFakeOptions { web_port: None, now: now.clone(), ..Default::default() }).await.unwrap();
    config.mail.port = smtp.smtp_addr().port();
    let sms = AliyunSmsFake::start(AliyunSmsFakeOptions { now: now.clone(), ..Default::default() }).await.unwrap();
    lantian_web::demo::point_sms_at(&mut config, &sms);
    let epay = EpayFake::start(EpayFakeSettings {
        now: now.clone(),
        platform_key: Some(platform_key()),
        notify_retry_unit: Duration::from_millis(1),
        ..Default::default()
    })
    .await
    .unwrap();
    lantian_web::demo::point_payments_at(&mut config, &epay);
    let kyc = AliyunKycFake::start(AliyunKycFakeSettings { now: now.clone(), ..Default::default() }).await.unwrap();
    lantian_web::demo::point_kyc_at(&mut config, &kyc);
    let proxmox = ProxmoxFake::start(ProxmoxFakeSettings { now: now.clone(), ..Default::default() }).await.unwrap();
    lantian_web::demo::point_provisioning_at(&mut config, &proxmox);
    let zjmf = ZjmfFake::start(ZjmfFakeSettings { now: now.clone(), ..Default::default() }).await.unwrap();
    lantian_web::demo::add_reseller(&mut config, &zjmf);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.server.public_url = format!("http://{addr}");
    adjust(&mut config);
    let db = Db::open(&config.database, Access::Exclusive).await.unwrap();
    db::migrate(&db).await.unwrap();
    let keys = Arc::new(keyring::from_config(&config.keys).unwrap());
    let core = Core::new(db, Arc::new(config), clock.clone(), keys).unwrap();
    lantian_core::catalog::seed_starter_regions(&core, T0).await.unwrap();
    // The writer task ends with the test's runtime.
    let (access_log, _writer) = lantian_core::accesslog::AccessLogWriter::start(core.clone());
    let app = Application::on_listener(AppState::new(core.clone(), false, access_log.clone()), listener);
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run(shutdown.clone()));
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Some(TestApp {
        smtp,
        sms,
        epay,
        kyc,
        proxmox,
        zjmf,
        addr,
        base: format!("http://{addr}"),
        core,
        clock,
        client,
        db: test_db,
        access_log,
        shutdown,
    })
}

/// The `value` of the first input named `name` in a page.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + 7;
    Some(rest[v..v + rest[v..].find('"')?].to_string())
}

/// The text right inside the element with id `id` (up to the next tag).
pub fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    Some(rest[start..start + rest[start..].find('<')?].trim().to_string())
}

pub const STAFF_PASSWORD: &str = "a long staff passphrase 42";

pub async fn create_staff(app: &TestApp, username: &str, roles: &[lantian_core::authz::Role]) -> (i64, String) {
    let input = lantian_core::staff::NewStaff {
        username: username.into(),
        display_name: format!("{username} display"),
        email: format!("{username}@staff.example"),
        roles: roles.to_vec(),
    };
    lantian_core::staff::create(&app.core, &lantian_core::authz::Principal::System, input, &Default::default())
        .await
        .unwrap()
}

/// The first sign-in of a new member in `client`: one-time password, TOTP enrolment, recovery
/// codes, new password. Returns the TOTP secret.
pub async fn first_sign_in(app: &TestApp, client: &reqwest::Client, username: &str, one_time: &str) -> String {
    let r = client
        .post(app.url("/staff/login"))
        .form(&[("username", username), ("password", one_time)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "password accepted");
    let page = client.get(app.url("/staff/login/second-factor")).send().await.unwrap().text().await.unwrap();
    let secret = text_of(&page, "totp-secret").expect("enrolment shows the secret");
    let csrf = form_value(&page, "csrf").unwrap();
    let code = lantian_core::totp::code_at(&secret, app.core.now()).unwrap();
    let r = client
        .post(app.url("/staff/login/second-factor"))
        .form(&[("code", code.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("id=\"recovery-codes\""));
    // The one-time password must be replaced before anything else.
    let r = client.get(app.url("/staff")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/staff/password");
    let page = client.get(app.url("/staff/password")).send().await.unwrap().text().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let form = [("password", STAFF_PASSWORD), ("confirm", STAFF_PASSWORD), ("csrf", csrf.as_str())];
    let r = client.post(app.url("/staff/password")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    secret
}

/// A later sign-in: password, then a code of a fresh time step.
pub async fn sign_in(app: &TestApp, client: &reqwest::Client, username: &str, secret: &str) {
    app.clock.advance(std::time::Duration::from_secs(30));
    let r = client
        .post(app.url("/staff/login"))
        .form(&[("username", username), ("password", STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = client.get(app.url("/staff/login/second-factor")).send().await.unwrap().text().await.unwrap();
    let csrf = form_value(&page, "csrf").unwrap();
    let code = lantian_core::totp::code_at(secret, app.core.now()).unwrap();
    let r = client
        .post(app.url("/staff/login/second-factor"))
        .form(&[("code", code.as_str()), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/staff");
}

/// The CSRF form token of the signed-in member's pages.
pub async fn csrf_of(app: &TestApp, client: &reqwest::Client) -> String {
    let page = client.get(app.url("/staff/tokens")).send().await.unwrap().text().await.unwrap();
    form_value(&page, "csrf").unwrap()
}

pub const CUSTOMER_PASSWORD: &str = "violet-harbour-trellis-19";

/// A customer with a verified e-mail, made through the core (quicker than the sign-up pages,
/// which their own tests cover): the customer's id.
pub async fn verified_customer(app: &TestApp, username: &str) -> i64 {
    use lantian_core::accounts::{self, AgeBracket, NewCustomer, Registered};
    let email = format!("{username}@mail.example");
    let input = NewCustomer {
        username,
        email: &email,
        password: CUSTOMER_PASSWORD,
        age: AgeBracket::Adult,
        accepted_policy: true,
        lang: lantian_core::i18n::Lang::ZhCn,
    };
    let Registered::Created { id } = accounts::register(&app.core, input, &Default::default()).await.unwrap() else {
        panic!("{username} not registered")
    };
    let mut tx = app.core.db.begin().await.unwrap();
    let sql = "UPDATE customers SET email_verified_at = 1 WHERE id = $1";
    lantian_core::on_tx!(&mut tx, c => sqlx::query(sql).bind(id).execute(c).await.unwrap().rows_affected());
    tx.commit().await.unwrap();
    id
}

/// A verified customer signed in on a fresh client.
pub async fn signed_in_customer(app: &TestApp, username: &str) -> (i64, reqwest::Client) {
    let id = verified_customer(app, username).await;
    let c = app.new_client();
    let form = [("login", username), ("password", CUSTOMER_PASSWORD)];
    let r = c.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303, "{username} signed in");
    (id, c)
}

/// The single number a query answers.
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    lantian_core::on_read!(&app.core.db, c => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await.unwrap())
}
