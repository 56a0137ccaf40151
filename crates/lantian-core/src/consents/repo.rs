use sqlx::FromRow;

use super::{Given, Purpose};
use crate::authz::Subject;
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, FromRow)]
pub struct ConsentRow {
    pub id: i64,
    pub purpose: String,
    pub policy_version: i64,
    pub given: bool,
    pub detail: String,
    pub at: UnixMs,
    pub ip: Option<String>,
}

pub async fn current_policy_version(db: &Db) -> Result<i64, sqlx::Error> {
    on_read!(db, c => sqlx::query_scalar("SELECT MAX(version) FROM policy_versions").fetch_one(c).await)
}

pub async fn insert(
    tx: &mut Tx,
    s: Subject,
    p: Purpose,
    version: i64,
    given: bool,
    how: Given<'_>,
    now: UnixMs,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO consents (subject_kind, subject_id, purpose, policy_version, given, detail, at, ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_tx!(tx, c => sqlx::query(SQL)
        .bind(s.kind.as_str()).bind(s.id).bind(p.as_str()).bind(version).bind(given).bind(how.detail).bind(now).bind(how.ip)
        .execute(c).await?.rows_affected());
    Ok(())
}

const LATEST: &str = "SELECT id, purpose, policy_version, given, detail, at, ip FROM consents \
     WHERE subject_kind = $1 AND subject_id = $2 AND purpose = $3 ORDER BY id DESC LIMIT 1";

pub async fn latest(db: &Db, s: Subject, p: Purpose) -> Result<Option<ConsentRow>, sqlx::Error> {
    on_read!(db, c => sqlx::query_as(LATEST).bind(s.kind.as_str()).bind(s.id).bind(p.as_str()).fetch_optional(c).await)
}

pub async fn latest_in(tx: &mut Tx, s: Subject, p: Purpose) -> Result<Option<ConsentRow>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as(LATEST).bind(s.kind.as_str()).bind(s.id).bind(p.as_str()).fetch_optional(c).await)
}

pub async fn history(db: &Db, s: Subject) -> Result<Vec<ConsentRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, purpose, policy_version, given, detail, at, ip FROM consents \
         WHERE subject_kind = $1 AND subject_id = $2 ORDER BY id DESC";
    on_read!(db, c => sqlx::query_as(SQL).bind(s.kind.as_str()).bind(s.id).fetch_all(c).await)
}
