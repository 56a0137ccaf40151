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

pub async fn find_region(db: &Db, id: i64) -> Result<Option<Region>, sqlx::Error> {
    const SQL: &str = "SELECT id, code, name_zh, name_en, real_name_required FROM regions WHERE id = $1 AND active";
    on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

pub async fn active_region_ids(tx: &mut Tx) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "SELECT id FROM regions WHERE active ORDER BY id";
    on_tx!(tx, c => sqlx::query_scalar(SQL).fetch_all(c).await)
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Plan {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub vcpu: i64,
    pub memory_mb: i64,
    pub disk_gb: i64,
    pub bandwidth_mbps: i64,
    pub traffic_gb: i64,
    pub os_images: String,
    pub sort_order: i64,
    pub active: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct PriceRow {
    pub plan_id: i64,
    pub cycle: String,
    pub price_fen: i64,
}

#[derive(Debug, Clone, FromRow)]
pub struct StockRow {
    pub plan_id: i64,
    pub region_id: i64,
    pub available: i64,
}

pub async fn list_plans(db: &Db, only_active: bool) -> Result<Vec<Plan>, sqlx::Error> {
    const SQL: &str = "SELECT id, code, name_zh, name_en, vcpu, memory_mb, disk_gb, bandwidth_mbps, traffic_gb, \
         os_images, sort_order, active FROM plans WHERE active OR NOT $1 ORDER BY sort_order, id";
    on_read!(db, c => sqlx::query_as(SQL).bind(only_active).fetch_all(c).await)
}

pub async fn list_prices(db: &Db) -> Result<Vec<PriceRow>, sqlx::Error> {
    const SQL: &str = "SELECT plan_id, cycle, price_fen FROM plan_prices ORDER BY plan_id, price_fen";
    on_read!(db, c => sqlx::query_as(SQL).fetch_all(c).await)
}

pub async fn list_stock(db: &Db) -> Result<Vec<StockRow>, sqlx::Error> {
    const SQL: &str = "SELECT plan_id, region_id, available FROM plan_stock ORDER BY plan_id, region_id";
    on_read!(db, c => sqlx::query_as(SQL).fetch_all(c).await)
}

const PLAN_VALUES: &str = "(code, name_zh, name_en, vcpu, memory_mb, disk_gb, bandwidth_mbps, traffic_gb, os_images, \
     sort_order, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

macro_rules! bind_plan {
    ($q:expr, $p:expr, $now:expr) => {
        $q.bind($p.code.as_str())
            .bind($p.name_zh.trim())
            .bind($p.name_en.trim())
            .bind($p.vcpu)
            .bind($p.memory_mb)
            .bind($p.disk_gb)
            .bind($p.bandwidth_mbps)
            .bind($p.traffic_gb)
            .bind($p.os_images.join(","))
            .bind($p.sort_order)
            .bind($p.active)
            .bind($now)
    };
}

pub async fn upsert_plan(tx: &mut Tx, p: &super::plans::PlanInput, now: UnixMs) -> Result<i64, sqlx::Error> {
    let sql = format!(
        "INSERT INTO plans {PLAN_VALUES} ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, \
         name_en = excluded.name_en, vcpu = excluded.vcpu, memory_mb = excluded.memory_mb, disk_gb = excluded.disk_gb, \
         bandwidth_mbps = excluded.bandwidth_mbps, traffic_gb = excluded.traffic_gb, os_images = excluded.os_images, \
         sort_order = excluded.sort_order, active = excluded.active RETURNING id"
    );
    on_tx!(tx, c => bind_plan!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), p, now).fetch_one(c).await)
}

pub async fn insert_plan_if_missing(
    tx: &mut Tx,
    p: &super::plans::PlanInput,
    now: UnixMs,
) -> Result<Option<i64>, sqlx::Error> {
    let sql = format!("INSERT INTO plans {PLAN_VALUES} ON CONFLICT (code) DO NOTHING RETURNING id");
    on_tx!(tx, c => bind_plan!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), p, now).fetch_optional(c).await)
}

pub async fn set_price(tx: &mut Tx, plan_id: i64, cycle: &str, price_fen: Option<i64>) -> Result<(), sqlx::Error> {
    match price_fen {
        Some(p) => {
            const SQL: &str = "INSERT INTO plan_prices (plan_id, cycle, price_fen) VALUES ($1, $2, $3) \
                 ON CONFLICT (plan_id, cycle) DO UPDATE SET price_fen = excluded.price_fen";
            on_tx!(tx, c => sqlx::query(SQL).bind(plan_id).bind(cycle).bind(p).execute(c).await?.rows_affected());
        }
        None => {
            const SQL: &str = "DELETE FROM plan_prices WHERE plan_id = $1 AND cycle = $2";
            on_tx!(tx, c => sqlx::query(SQL).bind(plan_id).bind(cycle).execute(c).await?.rows_affected());
        }
    }
    Ok(())
}

pub async fn set_stock(tx: &mut Tx, plan_id: i64, region_id: i64, available: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO plan_stock (plan_id, region_id, available) VALUES ($1, $2, $3) \
         ON CONFLICT (plan_id, region_id) DO UPDATE SET available = excluded.available";
    on_tx!(tx, c => sqlx::query(SQL).bind(plan_id).bind(region_id).bind(available).execute(c).await?.rows_affected());
    Ok(())
}

/// Takes one server of the plan's stock in the region; false when none is left.
pub async fn take_stock(tx: &mut Tx, plan_id: i64, region_id: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE plan_stock SET available = available - 1 \
         WHERE plan_id = $1 AND region_id = $2 AND available > 0";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(plan_id).bind(region_id).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn give_back_stock(tx: &mut Tx, plan_id: i64, region_id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE plan_stock SET available = available + 1 WHERE plan_id = $1 AND region_id = $2";
    on_tx!(tx, c => sqlx::query(SQL).bind(plan_id).bind(region_id).execute(c).await?.rows_affected());
    Ok(())
}
