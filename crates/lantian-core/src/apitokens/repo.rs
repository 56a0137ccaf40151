use sqlx::FromRow;

use crate::authz::{Subject, SubjectKind};
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: i64,
    pub name: String,
    pub scopes: String,
    pub created_at: UnixMs,
    pub expires_at: UnixMs,
    pub last_used_at: Option<UnixMs>,
    pub revoked_at: Option<UnixMs>,
}

impl TokenRow {
    pub fn subject(&self) -> Option<Subject> {
        SubjectKind::parse(&self.subject_kind).map(|kind| Subject { kind, id: self.subject_id })
    }
}

pub async fn insert(
    tx: &mut Tx,
    s: Subject,
    name: &str,
    hash: &str,
    scopes: &str,
    now: UnixMs,
    expires: UnixMs,
) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO api_tokens (subject_kind, subject_id, name, token_hash, scopes, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(s.kind.as_str()).bind(s.id).bind(name).bind(hash).bind(scopes).bind(now).bind(expires).fetch_one(c).await)
}

pub async fn live_by_hash(db: &Db, hash: &str, now: UnixMs) -> Result<Option<TokenRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, subject_kind, subject_id, name, scopes, created_at, expires_at, last_used_at, revoked_at \
         FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2";
    on_read!(db, c => sqlx::query_as(SQL).bind(hash).bind(now).fetch_optional(c).await)
}

pub async fn of_subject(db: &Db, s: Subject) -> Result<Vec<TokenRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, subject_kind, subject_id, name, scopes, created_at, expires_at, last_used_at, revoked_at \
         FROM api_tokens WHERE subject_kind = $1 AND subject_id = $2 ORDER BY id DESC";
    on_read!(db, c => sqlx::query_as(SQL).bind(s.kind.as_str()).bind(s.id).fetch_all(c).await)
}

pub async fn touch(tx: &mut Tx, id: i64, now: UnixMs) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1").bind(id).bind(now).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn revoke(tx: &mut Tx, s: Subject, id: i64, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE api_tokens SET revoked_at = $4 WHERE id = $3 AND subject_kind = $1 AND subject_id = $2 AND revoked_at IS NULL";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(id).bind(now).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn revoke_all(tx: &mut Tx, s: Subject, now: UnixMs) -> Result<u64, sqlx::Error> {
    const SQL: &str =
        "UPDATE api_tokens SET revoked_at = $3 WHERE subject_kind = $1 AND subject_id = $2 AND revoked_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(now).execute(c).await.map(|r| r.rows_affected()))
}
