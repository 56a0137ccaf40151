//! Native TLS: the server speaks HTTPS with the given PEM files, sends HSTS, and a broken
//! certificate or key stops start-up with a clear message.

use std::path::Path;
use std::process::Command;

use lantian_core::db::DbKind;
use lantian_web::{AppState, Application};
use tokio_util::sync::CancellationToken;

use crate::helpers::spawn_app_with;

/// A self-signed certificate for 127.0.0.1, made with the openssl command.
fn make_cert(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command is needed for the TLS test");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    (cert, key)
}

#[tokio::test]
async fn serves_https_with_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path());
    let app = spawn_app_with(DbKind::Sqlite, |c| {
        c.server.tls_cert = cert.to_string_lossy().into_owned();
        c.server.tls_key = key.to_string_lossy().into_owned();
    })
    .await
    .unwrap();
    let server = Application::build(
        AppState::new(app.core.clone(), false, app.access_log.clone()),
        "127.0.0.1:0".parse().unwrap(),
        app.core.config.tls_paths(),
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    let stop = CancellationToken::new();
    tokio::spawn(server.run(stop.clone()));
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([root]).build().unwrap();
    let r = client.get(format!("https://{addr}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    // Plain HTTP to the TLS port gets nowhere.
    assert!(reqwest::get(format!("http://{addr}/healthz")).await.is_err());
    stop.cancel();
}

#[tokio::test]
async fn a_bad_certificate_stops_start_up_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path());
    let app = spawn_app_with(DbKind::Sqlite, |_| {}).await.unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "-----BEGIN NONSENSE-----\n").unwrap();
    let state = || AppState::new(app.core.clone(), false, app.access_log.clone());
    let addr = "127.0.0.1:0".parse().unwrap();
    let err = Application::build(state(), addr, Some((junk.clone(), key.clone()))).await.err().unwrap().to_string();
    assert!(err.contains("junk.pem"), "{err}");
    let err = Application::build(state(), addr, Some((cert.clone(), cert.clone()))).await.err().unwrap().to_string();
    assert!(err.contains("cert.pem") && err.contains("private key"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = Application::build(state(), addr, Some((missing, key))).await.err().unwrap().to_string();
    assert!(err.contains("missing.pem"), "{err}");
}
