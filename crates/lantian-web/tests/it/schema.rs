//! The two migration trees must produce the same schema: tables, columns, type classes,
//! nullability and indexes.

use lantian_core::db::{self, Access, Db, DbKind, schema};

use crate::helpers::{new_test_db, test_config};

async fn migrated(kind: DbKind) -> Option<(Db, crate::helpers::TestDb)> {
    let t = new_test_db(kind).await?;
    let db = Db::open(&test_config(&t.url).database, Access::Exclusive).await.unwrap();
    db::migrate(&db).await.unwrap();
    Some((db, t))
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_are_the_same() {
    let (lite, _a) = migrated(DbKind::Sqlite).await.unwrap();
    let Some((pg, _b)) = migrated(DbKind::Postgres).await else { return };
    let lite_schema = schema::describe(&lite).await.unwrap();
    let pg_schema = schema::describe(&pg).await.unwrap();
    assert!(lite_schema.contains_key("jobs"), "{lite_schema:?}");
    let lite_tables: Vec<_> = lite_schema.keys().collect();
    let pg_tables: Vec<_> = pg_schema.keys().collect();
    assert_eq!(lite_tables, pg_tables, "the backends have different tables");
    for (table, l) in &lite_schema {
        let p = &pg_schema[table];
        assert_eq!(l.columns, p.columns, "columns of `{table}` differ (left SQLite, right PostgreSQL)");
        assert_eq!(l.indexes, p.indexes, "indexes of `{table}` differ (left SQLite, right PostgreSQL)");
    }
    lite.close().await;
    pg.close().await;
}

#[tokio::test]
async fn sqlite_runs_with_durable_pragmas() {
    let (db, _t) = migrated(DbKind::Sqlite).await.unwrap();
    let Db::Sqlite(s) = &db else { unreachable!() };
    let mut conn = s.writer.acquire().await.unwrap();
    let pragma = |name: &'static str| format!("PRAGMA {name}");
    let mut read = async |name| -> String {
        let v: sqlx::sqlite::SqliteRow =
            sqlx::query(sqlx::AssertSqlSafe(pragma(name))).fetch_one(&mut *conn).await.unwrap();
        use sqlx::{Row, ValueRef};
        let raw = v.try_get_raw(0).unwrap();
        if raw.is_null() {
            String::new()
        } else {
            v.try_get::<String, _>(0).unwrap_or_else(|_| v.get::<i64, _>(0).to_string())
        }
    };
    assert_eq!(read("journal_mode").await, "wal");
    assert_eq!(read("synchronous").await, "2", "synchronous must be FULL");
    assert_eq!(read("foreign_keys").await, "1");
    assert_eq!(read("secure_delete").await, "1");
    assert_ne!(read("busy_timeout").await, "0");
}
