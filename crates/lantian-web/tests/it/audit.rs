//! The audit chain: appends in the same transaction, verification, tamper detection, and no
//! fork under concurrent appends.

use lantian_core::audit::{self, Event, Verdict};
use lantian_core::authz::{Principal, Role};
use lantian_core::db::Db;
use lantian_core::on_tx;

async fn append(app: &crate::helpers::TestApp, n: usize) {
    let who = Principal::Staff { id: 1, roles: vec![Role::Owner] };
    for i in 0..n {
        let mut tx = app.core.db.begin().await.unwrap();
        let ev = Event::new("test.event").target("thing", i).fields(&["a", "b"]);
        audit::record(&mut tx, &who, Some("req-1"), ev, app.core.now()).await.unwrap();
        tx.commit().await.unwrap();
    }
}

/// Runs raw SQL as a database administrator would, outside the product.
async fn admin_sql(db: &Db, statements: &[&'static str]) {
    let mut tx = db.begin().await.unwrap();
    for s in statements {
        on_tx!(&mut tx, c => sqlx::query(*s).execute(c).await.unwrap().rows_affected());
    }
    tx.commit().await.unwrap();
}

fn drop_guard(db: &Db) -> &'static [&'static str] {
    match db {
        Db::Sqlite(_) => &["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
        Db::Pg(_) => &["DROP TRIGGER audit_log_no_update ON audit_log"],
    }
}

db_test!(an_edited_row_is_found_and_named, |app| {
    append(&app, 5).await;
    assert_eq!(audit::verify(&app.core.db).await.unwrap(), Verdict::Intact { rows: 5 });
    // The product cannot change a row: the database refuses.
    let mut tx = app.core.db.begin().await.unwrap();
    let refused = on_tx!(&mut tx, c => sqlx::query("UPDATE audit_log SET action = 'x' WHERE seq = 3").execute(c).await.map(|r| r.rows_affected()));
    assert!(refused.is_err(), "audit rows are append-only");
    drop(tx);
    admin_sql(&app.core.db, drop_guard(&app.core.db)).await;
    admin_sql(&app.core.db, &["UPDATE audit_log SET fields = 'a' WHERE seq = 3"]).await;
    match audit::verify(&app.core.db).await.unwrap() {
        Verdict::Broken { seq, why } => assert_eq!((seq, why.contains("changed")), (3, true), "{why}"),
        v => panic!("not detected: {v:?}"),
    }
});

db_test!(a_deleted_row_is_found, |app| {
    append(&app, 4).await;
    admin_sql(&app.core.db, drop_guard(&app.core.db)).await;
    admin_sql(&app.core.db, &["DELETE FROM audit_log WHERE seq = 2"]).await;
    assert!(matches!(audit::verify(&app.core.db).await.unwrap(), Verdict::Broken { seq: 2, .. }));
});

db_test!(a_removed_last_row_is_found_through_the_head, |app| {
    append(&app, 3).await;
    admin_sql(&app.core.db, drop_guard(&app.core.db)).await;
    admin_sql(&app.core.db, &["DELETE FROM audit_log WHERE seq = 3"]).await;
    assert!(matches!(audit::verify(&app.core.db).await.unwrap(), Verdict::Broken { seq: 3, .. }));
});

db_test!(concurrent_appends_never_fork_the_chain, |app| {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let core = app.core.clone();
        set.spawn(async move {
            let who = Principal::System;
            for i in 0..15 {
                let mut tx = core.db.begin().await.unwrap();
                audit::record(&mut tx, &who, None, Event::new("test.concurrent").target("n", i), core.now())
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        });
    }
    while set.join_next().await.is_some() {}
    assert_eq!(audit::verify(&app.core.db).await.unwrap(), Verdict::Intact { rows: 60 });
});

#[tokio::test]
async fn audit_verify_command_names_the_broken_row() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("l.db").display());
    let keys = dir.path().join("keys.toml");
    std::fs::write(&keys, lantian_core::crypto::keyring::KeyFile::generate().to_toml()).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lantian"))
            .args(args)
            .env("LANTIAN__DATABASE__URL", &url)
            .env("LANTIAN__KEYS__FILE", &keys)
            .env("LANTIAN__LOG__LEVEL", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["staff", "create", "--username", "root", "--email", "root@x.example", "--role", "owner"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("one-time password"));
    let out = run(&["audit", "verify"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 1 rows"));
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER audit_log_no_update").execute(&pool).await.unwrap();
    sqlx::query("UPDATE audit_log SET reason = 'owner,admin' WHERE seq = 1").execute(&pool).await.unwrap();
    pool.close().await;
    let out = run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken at row 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
