//! The SQL of the access log: batched inserts, the console's search, retention, and the
//! monthly partitions of PostgreSQL.

use std::sync::OnceLock;

use sqlx::{AssertSqlSafe, FromRow};

use super::Entry;
use crate::authz::Subject;
use crate::db::{Db, DbKind};
use crate::{UnixMs, on_read, on_tx};

/// A stored row, as the console and the login history show it.
#[derive(Debug, Clone, FromRow)]
pub struct LogRow {
    pub id: i64,
    pub at: UnixMs,
    pub ip: String,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub latency_us: i64,
    pub subject_kind: Option<String>,
    pub subject_id: Option<i64>,
    /// `request`, `sign_in`, `sign_in_failed` or `sign_out`.
    pub event: String,
    pub request_id: Option<String>,
}

/// The columns of [`LogRow`], as a literal so that `concat!` can build constant queries on it.
macro_rules! select {
    () => {
        "SELECT id, at, ip, browser, os, method, path, status, latency_us, subject_kind, subject_id, event, \
         request_id FROM access_log"
    };
}

const INSERT_COLUMNS: usize = 12;

/// At most this many rows per INSERT statement. A batch is written as chunks of power-of-two
/// sizes (256, 128, ... 1), so every batch uses at most nine statement texts, all of them
/// prepared once per connection, and the bound parameters stay far below either database's
/// limit (256 x 12).
const MAX_ROWS_PER_STATEMENT: usize = 256;

/// `INSERT ... VALUES (...), (...)` with `2^i` rows, for i in 0..=8, built once per backend.
///
/// SQLite's statement is `INSERT OR FAIL`: a plain (`OR ABORT`) statement that writes many rows
/// into several B-trees inside a transaction must be able to undo itself alone, so SQLite
/// copies every page it touches into a statement journal first (`subjournalPageIfRequired` in
/// the profile). A failed batch is rolled back whole by the caller anyway, so nothing needs the
/// statement's own undo.
///
/// The other dialect difference: PostgreSQL gets `$n` placeholders, SQLite anonymous `?`. For
/// each `$n` of a SQLite statement sqlx asks SQLite for the parameter's name, which SQLite finds
/// by a linear scan: over 3,072 parameters that cost about 88,000 instructions per row
/// (callgrind, `benches/access_log.rs`), more than everything else the access log does. `?`
/// has no name, so binding is positional and cheap.
fn insert_sql(kind: DbKind, rows: usize) -> &'static str {
    static SQLITE: OnceLock<Vec<String>> = OnceLock::new();
    static POSTGRES: OnceLock<Vec<String>> = OnceLock::new();
    let build = |verb: &str, placeholder: fn(usize) -> String| {
        (0..=MAX_ROWS_PER_STATEMENT.trailing_zeros())
            .map(|i| {
                let values: Vec<String> = (0..1usize << i)
                    .map(|r| {
                        let params: Vec<String> =
                            (1..=INSERT_COLUMNS).map(|c| placeholder(r * INSERT_COLUMNS + c)).collect();
                        format!("({})", params.join(", "))
                    })
                    .collect();
                format!(
                    "INSERT {verb} access_log (at, ip, browser, os, method, path, status, latency_us, subject_kind, \
                     subject_id, event, request_id) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    };
    let all = match kind {
        DbKind::Sqlite => SQLITE.get_or_init(|| build("OR FAIL INTO", |_| "?".to_string())),
        DbKind::Postgres => POSTGRES.get_or_init(|| build("INTO", |n| format!("${n}"))),
    };
    let i = rows.trailing_zeros() as usize;
    all.get(i).map(String::as_str).unwrap_or("")
}

/// Writes `rows` in one transaction.
pub async fn insert(db: &Db, rows: &[Entry]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut rest = rows;
    while !rest.is_empty() {
        // The largest power of two that fits, capped.
        let n = (1usize << rest.len().ilog2()).min(MAX_ROWS_PER_STATEMENT);
        let (chunk, tail) = rest.split_at(n);
        on_tx!(&mut tx, c => {
            let mut q = sqlx::query(insert_sql(db.kind(), n));
            for e in chunk {
                // Shared texts: a bound `Arc<str>` is not copied (a `&str` would be).
                q = q
                    .bind(e.at)
                    .bind(e.ip.clone())
                    .bind(e.browser.clone())
                    .bind(e.os.clone())
                    .bind(e.method.clone())
                    .bind(e.path.clone())
                    .bind(i64::from(e.status))
                    .bind(e.latency_us)
                    .bind(e.subject.map(|s| s.kind.as_str()))
                    .bind(e.subject.map(|s| s.id))
                    .bind(e.event.as_str())
                    .bind(e.request_id.clone());
            }
            q.execute(c).await?;
        });
        rest = tail;
    }
    tx.commit().await
}

/// What the console filters by; every field optional.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub subject: Option<Subject>,
    pub ip: Option<String>,
    pub from: Option<UnixMs>,
    pub to: Option<UnixMs>,
    /// Keyset paging: rows older than this id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// The console's search. The WHERE clause holds only the conditions given (rather than
/// `$1 IS NULL OR ...`), so that SQLite, which plans before it sees the parameters, can use
/// the subject and IP indexes of this, the largest table. Placeholders are numbered here; no
/// value is ever part of the text.
pub async fn search(db: &Db, f: &SearchFilter) -> Result<Vec<LogRow>, sqlx::Error> {
    let mut sql = format!("{} WHERE 1 = 1", select!());
    let mut n = 0;
    let mut param = || {
        n += 1;
        format!("${n}")
    };
    if f.subject.is_some() {
        let (k, i) = (param(), param());
        sql.push_str(&format!(" AND subject_kind = {k} AND subject_id = {i}"));
    }
    if f.ip.is_some() {
        sql.push_str(&format!(" AND ip = {}", param()));
    }
    if f.from.is_some() {
        sql.push_str(&format!(" AND at >= {}", param()));
    }
    if f.to.is_some() {
        sql.push_str(&format!(" AND at < {}", param()));
    }
    if f.before_id.is_some() {
        sql.push_str(&format!(" AND id < {}", param()));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", param()));
    on_read!(db, c => {
        let mut q = sqlx::query_as::<_, LogRow>(AssertSqlSafe(sql));
        if let Some(s) = f.subject {
            q = q.bind(s.kind.as_str()).bind(s.id);
        }
        if let Some(ip) = &f.ip {
            q = q.bind(ip);
        }
        if let Some(from) = f.from {
            q = q.bind(from);
        }
        if let Some(to) = f.to {
            q = q.bind(to);
        }
        if let Some(before) = f.before_id {
            q = q.bind(before);
        }
        q.bind(f.limit.clamp(1, 500)).fetch_all(c).await
    })
}

pub async fn login_history(db: &Db, subject: Subject, limit: i64) -> Result<Vec<LogRow>, sqlx::Error> {
    const SQL: &str = concat!(
        select!(),
        // Exactly the partial index's condition, so both databases use it (migration 0005).
        " WHERE subject_kind = $1 AND subject_id = $2 AND event IN ('sign_in', 'sign_in_failed') \
         ORDER BY at DESC, id DESC LIMIT $3"
    );
    on_read!(db, c => sqlx::query_as(SQL).bind(subject.kind.as_str()).bind(subject.id).bind(limit).fetch_all(c).await)
}

/// Deletes up to `limit` rows older than `before`; returns how many. On PostgreSQL only the
/// DEFAULT partition is cleared row by row: monthly partitions are dropped whole.
pub async fn delete_expired(db: &Db, before: UnixMs, limit: i64) -> Result<u64, sqlx::Error> {
    const SQLITE: &str =
        "DELETE FROM access_log WHERE id IN (SELECT id FROM access_log WHERE at < $1 ORDER BY at LIMIT $2)";
    const POSTGRES: &str = "DELETE FROM access_log_default WHERE id IN \
         (SELECT id FROM access_log_default WHERE at < $1 ORDER BY at LIMIT $2)";
    let sql = match db {
        Db::Sqlite(_) => SQLITE,
        Db::Pg(_) => POSTGRES,
    };
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(sql).bind(before).bind(limit).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(n)
}

/// DDL cannot take parameters: the partition names are made by `Month::table`, and anything
/// else is refused rather than spliced into SQL.
fn checked_name(name: &str) -> Result<&str, sqlx::Error> {
    let ok = name.starts_with("access_log_")
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(name) } else { Err(sqlx::Error::InvalidArgument(format!("not a partition name: {name}"))) }
}

/// Creating or dropping a partition locks the whole table; a long staff search must not make
/// every request's row wait behind that lock, so DDL gives up after a moment (and is tried
/// again at the next run).
const DDL_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '2s'";

/// PostgreSQL: the monthly partition `name` for [start, end), unless it exists.
pub async fn create_partition(db: &Db, name: &str, start: UnixMs, end: UnixMs) -> Result<(), sqlx::Error> {
    let Db::Pg(pool) = db else { return Ok(()) };
    let name = checked_name(name)?;
    // Checked first: CREATE ... IF NOT EXISTS would still take the lock and log a notice.
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(name).fetch_one(pool).await?;
    if exists {
        return Ok(());
    }
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {name} PARTITION OF access_log FOR VALUES FROM ({}) TO ({})",
        start.0, end.0
    );
    let mut tx = pool.begin().await?;
    sqlx::query(DDL_LOCK_TIMEOUT).execute(&mut *tx).await?;
    sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
    tx.commit().await
}

/// PostgreSQL: the names of the partitions, DEFAULT included.
pub async fn partitions(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    let Db::Pg(pool) = db else { return Ok(Vec::new()) };
    const SQL: &str = "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'access_log'::regclass ORDER BY 1";
    sqlx::query_scalar(SQL).fetch_all(pool).await
}

pub async fn drop_partition(db: &Db, name: &str) -> Result<(), sqlx::Error> {
    let Db::Pg(pool) = db else { return Ok(()) };
    let sql = format!("DROP TABLE IF EXISTS {}", checked_name(name)?);
    let mut tx = pool.begin().await?;
    sqlx::query(DDL_LOCK_TIMEOUT).execute(&mut *tx).await?;
    sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_statements_have_power_of_two_rows() {
        let pg = |n| insert_sql(DbKind::Postgres, n);
        assert!(pg(1).ends_with("VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"));
        assert!(pg(2).ends_with("($13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"));
        assert!(pg(256).ends_with("$3072)"));
        let lite = insert_sql(DbKind::Sqlite, 256);
        assert_eq!(lite.matches('?').count(), 3072);
        assert_eq!(
            lite.replace('?', "$").replacen("INSERT OR FAIL INTO", "INSERT INTO", 1),
            pg(256).chars().filter(|c| !c.is_ascii_digit()).collect::<String>()
        );
        assert_eq!(checked_name("access_log_2026_11").unwrap(), "access_log_2026_11");
        assert!(checked_name("access_log; DROP TABLE staff").is_err());
    }
}
