use sqlx::FromRow;

use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: UnixMs,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub fields: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Moves the head one step and returns the new sequence number and the previous hash. On
/// PostgreSQL the row lock serialises concurrent appends; SQLite has one writer.
pub async fn advance_head(tx: &mut Tx) -> Result<(i64, String), sqlx::Error> {
    const SQL: &str = "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash";
    on_tx!(tx, c => sqlx::query_as(SQL).fetch_one(c).await)
}

pub async fn set_head_hash(tx: &mut Tx, hash: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE audit_head SET last_hash = $1 WHERE id = 1";
    on_tx!(tx, c => sqlx::query(SQL).bind(hash).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn insert(tx: &mut Tx, r: &AuditRow, hash: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, target_kind, target_id, fields, reason, \
         request_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    on_tx!(tx, c => sqlx::query(SQL)
        .bind(r.seq).bind(r.at).bind(&r.actor_kind).bind(r.actor_id).bind(&r.action).bind(&r.target_kind)
        .bind(&r.target_id).bind(&r.fields).bind(&r.reason).bind(&r.request_id).bind(&r.prev_hash).bind(hash)
        .execute(c).await?.rows_affected());
    Ok(())
}

pub async fn page(db: &Db, after_seq: i64, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
    const SQL: &str = "SELECT seq, at, actor_kind, actor_id, action, target_kind, target_id, fields, reason, request_id, \
         prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";
    on_read!(db, c => sqlx::query_as(SQL).bind(after_seq).bind(limit).fetch_all(c).await)
}

pub async fn head(db: &Db) -> Result<(i64, String), sqlx::Error> {
    const SQL: &str = "SELECT seq, last_hash FROM audit_head WHERE id = 1";
    on_read!(db, c => sqlx::query_as(SQL).fetch_one(c).await)
}

/// What the console filters by; every field optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_kind: Option<String>,
    pub actor_id: Option<i64>,
    /// Matches the action exactly or as a dotted prefix (`staff` matches `staff.create`).
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<UnixMs>,
    pub to: Option<UnixMs>,
    /// Keyset paging: rows older than this sequence number.
    pub before_seq: Option<i64>,
    pub limit: i64,
}

pub async fn list(db: &Db, f: &AuditFilter) -> Result<Vec<AuditRow>, sqlx::Error> {
    // NULL parameters switch a condition off; the same text runs on both databases.
    const SQL: &str = "SELECT seq, at, actor_kind, actor_id, action, target_kind, target_id, fields, reason, request_id, \
         prev_hash, hash FROM audit_log \
         WHERE ($1 IS NULL OR actor_kind = $1) AND ($2 IS NULL OR actor_id = $2) \
         AND ($3 IS NULL OR action = $3 OR substr(action, 1, length($3) + 1) = $3 || '.') \
         AND ($4 IS NULL OR target_kind = $4) AND ($5 IS NULL OR target_id = $5) \
         AND ($6 IS NULL OR at >= $6) AND ($7 IS NULL OR at < $7) AND ($8 IS NULL OR seq < $8) \
         ORDER BY seq DESC LIMIT $9";
    on_read!(db, c => sqlx::query_as(SQL)
        .bind(&f.actor_kind).bind(f.actor_id).bind(&f.action).bind(&f.target_kind).bind(&f.target_id)
        .bind(f.from).bind(f.to).bind(f.before_seq).bind(f.limit.clamp(1, 500))
        .fetch_all(c).await)
}
