//! Rate limits as counters in the database, so a limit holds across every instance: one
//! `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` per hit, fixed windows.

use std::time::Duration;

use crate::db::Db;
use crate::{Result, UnixMs, on_read, on_tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    RetryAfter(Duration),
}

/// Counts a hit on `key` in the current window of length `window`; refuses beyond `limit`.
pub async fn hit(db: &Db, key: &str, window: Duration, limit: u32, now: UnixMs) -> Result<Decision> {
    let hits = count(db, key, window, now).await?;
    Ok(decide(hits, limit, bounds(window, now).1, now))
}

/// Whether `key` is already over `limit` in the current window, without counting a hit.
pub async fn check(db: &Db, key: &str, window: Duration, limit: u32, now: UnixMs) -> Result<Decision> {
    const SQL: &str = "SELECT hits FROM rate_limits WHERE key = $1 AND window_start = $2";
    let (start, end) = bounds(window, now);
    let hits: Option<i64> = on_read!(db, c => sqlx::query_scalar(SQL).bind(key).bind(start).fetch_optional(c).await?);
    Ok(decide(hits.unwrap_or(0), limit, end, now))
}

/// Counts a hit and returns the number of hits in the current window.
pub async fn count(db: &Db, key: &str, window: Duration, now: UnixMs) -> Result<i64> {
    const SQL: &str = "INSERT INTO rate_limits (key, window_start, hits, expires_at) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits";
    let (start, end) = bounds(window, now);
    let mut tx = db.begin().await?;
    let hits: i64 = on_tx!(&mut tx, c => sqlx::query_scalar(SQL).bind(key).bind(start).bind(end).fetch_one(c).await?);
    tx.commit().await?;
    Ok(hits)
}

/// Forgets every window of `key` (a successful sign-in clears its failure counters).
pub async fn reset(db: &Db, key: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM rate_limits WHERE key = $1").bind(key).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(())
}

fn bounds(window: Duration, now: UnixMs) -> (i64, i64) {
    let len = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
    let start = now.0 - now.0.rem_euclid(len);
    (start, start.saturating_add(len))
}

fn decide(hits: i64, limit: u32, end: i64, now: UnixMs) -> Decision {
    if hits > i64::from(limit) {
        let wait = u64::try_from(end - now.0).unwrap_or(0).max(1);
        return Decision::RetryAfter(Duration::from_millis(wait));
    }
    Decision::Allowed
}

/// Drops windows that have ended (a periodic task).
pub async fn purge(db: &Db, now: UnixMs) -> Result<u64> {
    const SQL: &str = "DELETE FROM rate_limits WHERE expires_at < $1";
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(SQL).bind(now).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(n)
}
