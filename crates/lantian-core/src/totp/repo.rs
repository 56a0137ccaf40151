use sqlx::FromRow;

use crate::authz::Subject;
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, FromRow)]
pub struct Factor {
    pub secret: String,
    pub enabled_at: Option<UnixMs>,
}

pub async fn get(db: &Db, s: Subject) -> Result<Option<Factor>, sqlx::Error> {
    const SQL: &str = "SELECT secret, enabled_at FROM totp_factors WHERE subject_kind = $1 AND subject_id = $2";
    on_read!(db, c => sqlx::query_as(SQL).bind(s.kind.as_str()).bind(s.id).fetch_optional(c).await)
}

/// Stores a new pending secret, unless a factor is already enabled.
pub async fn upsert_pending(tx: &mut Tx, s: Subject, sealed: &str, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO totp_factors (subject_kind, subject_id, secret, enabled_at, last_step, created_at) \
         VALUES ($1, $2, $3, NULL, 0, $4) ON CONFLICT (subject_kind, subject_id) DO UPDATE \
         SET secret = excluded.secret, created_at = excluded.created_at WHERE totp_factors.enabled_at IS NULL";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(sealed).bind(now).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn enable(tx: &mut Tx, s: Subject, step: i64, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE totp_factors SET enabled_at = $3, last_step = $4 \
         WHERE subject_kind = $1 AND subject_id = $2 AND enabled_at IS NULL";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(now).bind(step).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn advance_step(tx: &mut Tx, s: Subject, step: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE totp_factors SET last_step = $3 \
         WHERE subject_kind = $1 AND subject_id = $2 AND enabled_at IS NOT NULL AND last_step < $3";
    let n =
        on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(step).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn replace_recovery_codes(
    tx: &mut Tx,
    s: Subject,
    hashes: &[String],
    now: UnixMs,
) -> Result<(), sqlx::Error> {
    const DELETE: &str = "DELETE FROM recovery_codes WHERE subject_kind = $1 AND subject_id = $2";
    const INSERT: &str = "INSERT INTO recovery_codes (subject_kind, subject_id, code_hash, used_at, created_at) VALUES ($1, $2, $3, NULL, $4)";
    on_tx!(tx, c => sqlx::query(DELETE).bind(s.kind.as_str()).bind(s.id).execute(&mut *c).await?.rows_affected());
    for h in hashes {
        on_tx!(tx, c => sqlx::query(INSERT).bind(s.kind.as_str()).bind(s.id).bind(h).bind(now).execute(c).await?.rows_affected());
    }
    Ok(())
}

pub async fn use_recovery_code(tx: &mut Tx, s: Subject, hash: &str, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE recovery_codes SET used_at = $4 \
         WHERE subject_kind = $1 AND subject_id = $2 AND code_hash = $3 AND used_at IS NULL";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(hash).bind(now).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn count_unused(db: &Db, s: Subject) -> Result<i64, sqlx::Error> {
    const SQL: &str =
        "SELECT COUNT(*) FROM recovery_codes WHERE subject_kind = $1 AND subject_id = $2 AND used_at IS NULL";
    on_read!(db, c => sqlx::query_scalar(SQL).bind(s.kind.as_str()).bind(s.id).fetch_one(c).await)
}
