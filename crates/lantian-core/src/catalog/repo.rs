use serde::Serialize;
use sqlx::FromRow;

use super::SeedRegion;
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Region {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub real_name_required: bool,
}

pub async fn list_active(db: &Db, after_id: i64, limit: i64) -> Result<Vec<Region>, sqlx::Error> {
    const SQL: &str = "SELECT id, code, name_zh, name_en, real_name_required FROM regions \
         WHERE active AND id > $1 ORDER BY id LIMIT $2";
    on_read!(db, c => sqlx::query_as(SQL).bind(after_id).bind(limit).fetch_all(c).await)
}

pub async fn insert_if_missing(tx: &mut Tx, r: &SeedRegion, sort_order: i64, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO regions (code, name_zh, name_en, real_name_required, sort_order, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, TRUE, $6) ON CONFLICT (code) DO NOTHING";
    let done = on_tx!(tx, c => sqlx::query(SQL)
        .bind(r.code).bind(r.name_zh).bind(r.name_en).bind(r.real_name_required).bind(sort_order).bind(now)
        .execute(c).await?.rows_affected());
    Ok(done == 1)
}
