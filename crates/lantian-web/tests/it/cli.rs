//! The `lantian` command as an operator meets it: clear messages and non-zero exits for bad
//! flags, bad settings, an unreachable or too-new database; one serve per SQLite file;
//! backups taken while serving; restores refused while serving.

use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn lantian(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lantian"));
    c.current_dir(dir).args(args).env("LANTIAN__LOG__LEVEL", "warn").kill_on_drop(true);
    // Every process of one test directory shares one key file, as one installation would.
    let keys = dir.join("keys.toml");
    if !keys.exists() {
        std::fs::write(&keys, lantian_core::crypto::keyring::KeyFile::generate().to_toml()).unwrap();
    }
    c.env("LANTIAN__KEYS__FILE", &keys);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

async fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = lantian(dir, args, env).output().await.unwrap();
    let (out, err) = (String::from_utf8_lossy(&stdout).to_string(), String::from_utf8_lossy(&stderr).to_string());
    assert!(!err.contains("panicked"), "a panic reached the operator: {err}");
    (status.code().unwrap_or(-1), out, err)
}

/// Starts `serve` on a free port and waits until it says it is serving.
async fn serve(dir: &std::path::Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = lantian(dir, &["serve", "--listen", "127.0.0.1:0"], env).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.unwrap().unwrap().unwrap();
    let url = line.rsplit(' ').next().unwrap().to_string();
    (child, url)
}

async fn stop(mut child: Child) {
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "serve did not stop cleanly: {status}");
}

#[tokio::test]
async fn bad_flags_and_settings_get_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(dir.path(), &["serve", "--bogus"], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--bogus"), "{err}");
    let (code, _, err) = run(dir.path(), &["config", "check"], &[("LANTIAN__JOBS__CONCURRENCY", "0")]).await;
    assert_eq!(code, 1);
    assert!(err.contains("jobs.concurrency") && err.contains("1 to 256"), "{err}");
    let (code, _, err) = run(dir.path(), &["config", "check"], &[("LANTIAN__SERVER__LISTEN", "not-an-address")]).await;
    assert_eq!(code, 1);
    assert!(err.contains("server.listen"), "{err}");
    let (code, _, err) = run(dir.path(), &["--config", "nope.toml", "config", "check"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("nope.toml"), "{err}");
}

#[tokio::test]
async fn config_check_prints_the_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgres://lantian:s3cret-pw@db.internal/lantian";
    let (code, out, _) = run(dir.path(), &["config", "check"], &[("LANTIAN__DATABASE__URL", url)]).await;
    assert_eq!(code, 0);
    assert!(out.contains("[server]") && out.contains("[redacted]") && !out.contains("s3cret-pw"), "{out}");
}

#[tokio::test]
async fn unreachable_database_is_reported_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("LANTIAN__DATABASE__URL", "postgres://nobody@127.0.0.1:9/none"),
        ("LANTIAN__DATABASE__CONNECT_TIMEOUT_SECS", "2"),
    ];
    let (code, _, err) = run(dir.path(), &["migrate"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach the database postgres://127.0.0.1:9/none"), "{err}");
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), &["migrate"], &[]).await.0, 0);
    let url = format!("sqlite://{}", dir.path().join("data/lantian.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (9999, 'future', TRUE, x'00', 0)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (code, _, err) = run(dir.path(), &["serve"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("version 9999, newer than this binary"), "{err}");
}

#[tokio::test]
async fn one_serve_per_sqlite_file_and_backups_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = serve(dir.path(), &[]).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (code, _, err) = run(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("another Lantian process is already using"), "{err}");
    // Read-only commands still work beside it.
    assert_eq!(run(dir.path(), &["migrate", "--status"], &[]).await.0, 0);
    let (code, out, err) = run(dir.path(), &["backup", "snapshot.db"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("snapshot.db"));
    let (code, _, err) = run(dir.path(), &["backup", "snapshot.db"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("exists already"), "{err}");
    let (code, _, err) = run(dir.path(), &["restore", "snapshot.db"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("refusing to restore over a running database"), "{err}");
    stop(child).await;

    // Stopped: a restore of the snapshot succeeds, and garbage is refused.
    let (code, _, err) = run(dir.path(), &["restore", "snapshot.db"], &[]).await;
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.path().join("junk.db"), b"not a database at all").unwrap();
    let (code, _, err) = run(dir.path(), &["restore", "junk.db"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("junk.db"), "{err}");
    let (child, _) = serve(dir.path(), &[]).await;
    stop(child).await;
}

#[tokio::test]
async fn postgres_backups_point_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) =
        run(dir.path(), &["backup", "x.db"], &[("LANTIAN__DATABASE__URL", "postgres://a@127.0.0.1:9/b")]).await;
    assert_eq!(code, 1);
    assert!(err.contains("pg_dump"), "{err}");
}

#[tokio::test]
async fn metrics_are_served_on_their_own_private_listener() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let (child, url) = serve(dir.path(), &[("LANTIAN__METRICS__LISTEN", listen.as_str())]).await;
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(format!("{url}/metrics")).await.unwrap().status(), 404, "not on the public site");
    let text = reqwest::get(format!("http://{listen}/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("http_requests_total{status=\"2xx\"}"), "{text}");
    stop(child).await;
}

#[tokio::test]
async fn the_lifecycle_runs_on_demand_and_acts_as_of_a_later_day_only_on_the_demo_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    for url in ["sqlite://data/lantian.db", "sqlite://data/demo.db"] {
        let (code, _, err) = run(dir.path(), &["migrate"], &[("LANTIAN__DATABASE__URL", url)]).await;
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = run(dir.path(), &["lifecycle"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("renewal invoices: 0, reminders: 0, to suspend: 0, to terminate: 0"), "{out}");

    // On a real installation a day in the future would suspend and delete early: refused.
    let (code, _, err) = run(dir.path(), &["lifecycle", "--as-of", "2099-01-01"], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("--demo"), "{err}");
    let db = [("LANTIAN__DATABASE__URL", "sqlite://other.db")];
    let (code, _, err) = run(dir.path(), &["lifecycle", "--demo", "--as-of", "2099-01-01"], &db).await;
    assert_ne!(code, 0);
    assert!(err.contains("only on the demo database"), "{err}");

    let (code, out, err) = run(dir.path(), &["lifecycle", "--demo", "--as-of", "2099-01-01"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("to suspend: 0"), "{out}");
    let (code, _, err) = run(dir.path(), &["lifecycle", "--demo", "--as-of", "1 January"], &[]).await;
    assert_ne!(code, 0);
    assert!(err.contains("not a date"), "{err}");
}
