//! "Remember me": a long-lived token in its own cookie that, when the session has ended,
//! starts a new one. Every use rotates it within its family; a rotated token presented again
//! means a copy is in other hands, so the whole family is revoked and the owner told.

use std::time::Duration;

use crate::authz::Subject;
use crate::crypto::token::{hash_token, new_token};
use crate::db::Tx;
use crate::notify::{self, Args};
use crate::sessions::{self, Stage};
use crate::{Core, RequestMeta, Result, UnixMs, on_tx};

const LIFETIME: Duration = Duration::from_secs(30 * 86_400);

pub enum Remembered {
    /// A new session and the next remember-me token.
    Renewed { session_token: String, remember_token: String },
    /// Unknown, expired or revoked: forget the cookie.
    Invalid,
    /// A rotated token came back: the family is revoked and the owner notified.
    Reused,
}

pub async fn issue_remember_token(core: &Core, customer_id: i64, now: UnixMs) -> Result<String> {
    let (family, _) = new_token();
    let mut tx = core.db.begin().await?;
    let token = insert(&mut tx, customer_id, &family, now).await?;
    tx.commit().await?;
    Ok(token)
}

async fn insert(tx: &mut Tx, customer_id: i64, family: &str, now: UnixMs) -> Result<String> {
    const SQL: &str = "INSERT INTO remember_tokens (customer_id, family, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
    let (token, hash) = new_token();
    on_tx!(tx, c => sqlx::query(SQL).bind(customer_id).bind(family).bind(&hash).bind(now).bind(now.plus(LIFETIME)).execute(c).await?.rows_affected());
    Ok(token)
}

pub async fn exchange_remember_token(core: &Core, token: &str, meta: &RequestMeta) -> Result<Remembered> {
    const FIND: &str =
        "SELECT id, customer_id, family, rotated_at, revoked_at, expires_at FROM remember_tokens WHERE token_hash = $1";
    const ROTATE: &str =
        "UPDATE remember_tokens SET rotated_at = $2 WHERE id = $1 AND rotated_at IS NULL AND revoked_at IS NULL";
    if token.len() != 43 {
        return Ok(Remembered::Invalid);
    }
    let now = core.now();
    let mut tx = core.db.begin().await?;
    type Row = (i64, i64, String, Option<UnixMs>, Option<UnixMs>, UnixMs);
    let row: Option<Row> = on_tx!(&mut tx, c => sqlx::query_as(FIND).bind(hash_token(token)).fetch_optional(c).await?);
    let Some((id, customer_id, family, rotated, revoked, expires)) = row else { return Ok(Remembered::Invalid) };
    if revoked.is_some() || expires <= now {
        return Ok(Remembered::Invalid);
    }
    let rotated_now =
        on_tx!(&mut tx, c => sqlx::query(ROTATE).bind(id).bind(now).execute(c).await?.rows_affected()) == 1;
    if rotated.is_some() || !rotated_now {
        revoke_family(&mut tx, &family, now).await?;
        let subject = Subject::customer(customer_id);
        sessions::end_all(&mut tx, subject, "remember-me token reused", now).await?;
        notify::notify(&mut tx, core, subject, notify::Event::RememberTokenReused, Args::new(), now).await?;
        tx.commit().await?;
        return Ok(Remembered::Reused);
    }
    let remember_token = insert(&mut tx, customer_id, &family, now).await?;
    tx.commit().await?;
    let (session_token, _) = sessions::start(core, Subject::customer(customer_id), Stage::Active, meta, now).await?;
    Ok(Remembered::Renewed { session_token, remember_token })
}

async fn revoke_family(tx: &mut Tx, family: &str, now: UnixMs) -> Result<()> {
    const SQL: &str = "UPDATE remember_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(family).bind(now).execute(c).await?.rows_affected());
    Ok(())
}

/// Forgets every remembered device of a customer (password reset, "sign out everywhere").
pub(super) async fn revoke_all(tx: &mut Tx, customer_id: i64, now: UnixMs) -> Result<()> {
    const SQL: &str = "UPDATE remember_tokens SET revoked_at = $2 WHERE customer_id = $1 AND revoked_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(customer_id).bind(now).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn revoke_remember_tokens(core: &Core, customer_id: i64, now: UnixMs) -> Result<()> {
    let mut tx = core.db.begin().await?;
    revoke_all(&mut tx, customer_id, now).await?;
    tx.commit().await?;
    Ok(())
}
