use std::time::Duration;

use sqlx::FromRow;

use super::Stage;
use crate::authz::Subject;
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: i64,
    pub stage: String,
    pub csrf_secret: String,
    pub flash: Option<String>,
    pub created_at: UnixMs,
    pub last_seen_at: UnixMs,
    pub expires_at: UnixMs,
    pub ip: Option<String>,
    pub browser: Option<String>,
    pub os: Option<String>,
}

impl SessionRow {
    pub fn is_active(&self) -> bool {
        self.stage == Stage::Active.as_str()
    }
    pub fn subject(&self) -> Option<Subject> {
        crate::authz::SubjectKind::parse(&self.subject_kind).map(|kind| Subject { kind, id: self.subject_id })
    }
}

pub struct NewRow<'a> {
    pub hash: &'a str,
    pub subject: Subject,
    pub stage: Stage,
    pub csrf: &'a str,
    pub idle: Duration,
    pub expires_at: UnixMs,
    pub ip: Option<&'a str>,
    pub browser: Option<&'a str>,
    pub os: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, r: &NewRow<'_>, now: UnixMs) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO sessions (token_hash, subject_kind, subject_id, stage, csrf_secret, created_at, last_seen_at, \
         idle_timeout_ms, expires_at, ip, browser, os) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11) RETURNING id";
    let idle = i64::try_from(r.idle.as_millis()).unwrap_or(i64::MAX);
    on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(r.hash).bind(r.subject.kind.as_str()).bind(r.subject.id).bind(r.stage.as_str()).bind(r.csrf).bind(now)
        .bind(idle).bind(r.expires_at).bind(r.ip).bind(r.browser).bind(r.os)
        .fetch_one(c).await)
}

pub async fn live_by_hash(db: &Db, hash: &str, now: UnixMs) -> Result<Option<SessionRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, subject_kind, subject_id, stage, csrf_secret, flash, created_at, last_seen_at, expires_at, ip, \
         browser, os FROM sessions WHERE token_hash = $1 \
         AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at + idle_timeout_ms > $2";
    on_read!(db, c => sqlx::query_as(SQL).bind(hash).bind(now).fetch_optional(c).await)
}

pub async fn live_of(db: &Db, s: Subject, now: UnixMs) -> Result<Vec<SessionRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, subject_kind, subject_id, stage, csrf_secret, flash, created_at, last_seen_at, expires_at, ip, \
         browser, os FROM sessions WHERE subject_kind = $3 AND subject_id = $1 \
         AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at + idle_timeout_ms > $2 ORDER BY id DESC";
    on_read!(db, c => sqlx::query_as(SQL).bind(s.id).bind(now).bind(s.kind.as_str()).fetch_all(c).await)
}

pub async fn touch(tx: &mut Tx, id: i64, now: UnixMs) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET last_seen_at = $2 WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn rotate(tx: &mut Tx, id: i64, hash: &str, stage: Stage, now: UnixMs) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "UPDATE sessions SET token_hash = $2, stage = $3, last_seen_at = $4 WHERE id = $1 AND revoked_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(hash).bind(stage.as_str()).bind(now).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn revoke(tx: &mut Tx, id: i64, reason: &str, now: UnixMs) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(now).bind(reason).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn revoke_all(tx: &mut Tx, s: Subject, reason: &str, now: UnixMs) -> Result<u64, sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
         WHERE subject_kind = $1 AND subject_id = $2 AND revoked_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(now).bind(reason).execute(c).await.map(|r| r.rows_affected()))
}

pub async fn set_flash(tx: &mut Tx, id: i64, flash: Option<&str>) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET flash = $2 WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(flash).execute(c).await?.rows_affected());
    Ok(())
}

/// Sessions that ended (revoked or expired) before `before`, in one statement per batch.
pub async fn purge(db: &Db, before: UnixMs) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
         WHERE (revoked_at IS NOT NULL AND revoked_at < $1) OR expires_at < $1 LIMIT 1000)";
    let mut total = 0;
    loop {
        let mut tx = db.begin().await?;
        let n = on_tx!(&mut tx, c => sqlx::query(SQL).bind(before).execute(c).await?.rows_affected());
        tx.commit().await?;
        total += n;
        if n < 1000 {
            return Ok(total);
        }
    }
}
