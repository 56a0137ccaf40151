//! Personal access tokens for the JSON API: shown once, stored only as a hash, scoped,
//! expiring, revocable. Deactivating a staff member revokes theirs.

mod repo;

use std::time::Duration;

pub use repo::TokenRow;

use crate::authz::Subject;
use crate::crypto::token::{hash_token, new_token};
use crate::db::Tx;
use crate::{Core, Error, Result, UnixMs};

const PREFIX: &str = "lt_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }
}

/// Who a valid token speaks for, and what it may do.
#[derive(Debug, Clone)]
pub struct Bearer {
    pub subject: Subject,
    pub scopes: Vec<Scope>,
    pub token_id: i64,
}

impl Bearer {
    pub fn allows(&self, s: Scope) -> bool {
        self.scopes.contains(&s)
    }
}

/// Creates a token for `subject`; returns its id and the token, shown once.
pub async fn create(
    core: &Core,
    subject: Subject,
    name: &str,
    scopes: &[Scope],
    days: u32,
    now: UnixMs,
) -> Result<(i64, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(Error::validation("name", "token-name"));
    }
    if scopes.is_empty() {
        return Err(Error::validation("scopes", "token-scopes"));
    }
    if !(1..=365).contains(&days) {
        return Err(Error::validation("days", "token-days"));
    }
    let (secret, _) = new_token();
    let token = format!("{PREFIX}{secret}");
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let expires = now.plus(Duration::from_secs(u64::from(days) * 86_400));
    let mut tx = core.db.begin().await?;
    let id = repo::insert(&mut tx, subject, name, &hash_token(&token), &scopes.join(" "), now, expires).await?;
    tx.commit().await?;
    Ok((id, token))
}

/// The bearer of a valid token; `last_used_at` is written at most once a minute.
pub async fn authenticate(core: &Core, token: &str, now: UnixMs) -> Result<Option<Bearer>> {
    if !token.starts_with(PREFIX) || token.len() > 100 {
        return Ok(None);
    }
    let Some(row) = repo::live_by_hash(&core.db, &hash_token(token), now).await? else { return Ok(None) };
    let Some(subject) = row.subject() else { return Ok(None) };
    if row.last_used_at.is_none_or(|t| now.0 - t.0 >= 60_000) {
        let mut tx = core.db.begin().await?;
        repo::touch(&mut tx, row.id, now).await?;
        tx.commit().await?;
    }
    Ok(Some(Bearer { subject, scopes: row.scopes.split(' ').filter_map(Scope::parse).collect(), token_id: row.id }))
}

pub async fn list(core: &Core, subject: Subject) -> Result<Vec<TokenRow>> {
    Ok(repo::of_subject(&core.db, subject).await?)
}

/// Revokes one of the subject's own tokens.
pub async fn revoke(core: &Core, subject: Subject, id: i64, now: UnixMs) -> Result<()> {
    let mut tx = core.db.begin().await?;
    if !repo::revoke(&mut tx, subject, id, now).await? {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

pub async fn revoke_all(tx: &mut Tx, subject: Subject, now: UnixMs) -> Result<u64> {
    Ok(repo::revoke_all(tx, subject, now).await?)
}
