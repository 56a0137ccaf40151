//! One session model for customers and staff. The client holds a 256-bit random token in the
//! one session cookie; the database holds only its SHA-256. A session ends after its idle
//! time-out, at its absolute expiry, at logout, or when revoked (password reset,
//! deactivation). The token changes at login and at every privilege change. The CSRF secret,
//! flash messages and the pending second-factor state live in the row, never in more cookies.

mod repo;

pub use repo::SessionRow;

use std::sync::Arc;
use std::time::Duration;

use crate::authz::{Subject, SubjectKind};
use crate::crypto::token::{hash_token, new_token};
use crate::{Core, RequestMeta, Result, UnixMs};

/// How far a session got: the password was right and a second factor (or its enrolment) is
/// pending, or it is fully signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Password,
    Active,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Password => "password",
            Stage::Active => "active",
        }
    }
}

/// `last_seen_at` is written at most this often, so a busy session costs no write per request.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

fn timeouts(core: &Core, kind: SubjectKind) -> (Duration, Duration) {
    let s = &core.config.sessions;
    match kind {
        SubjectKind::Customer => {
            (Duration::from_secs(s.customer_idle_minutes * 60), Duration::from_secs(s.customer_absolute_days * 86_400))
        }
        SubjectKind::Staff => {
            (Duration::from_secs(s.staff_idle_minutes * 60), Duration::from_secs(s.staff_absolute_hours * 3600))
        }
    }
}

/// A device as named in the device list and the access log: (browser and version, OS). Shared
/// texts, so that the table below hands out copies without allocating.
pub type Device = (Option<Arc<str>>, Option<Arc<str>>);

/// Browser and operating system names from a User-Agent, for the device list and the access
/// log. Every request asks, and a site sees few distinct User-Agents, so answers are kept in
/// a small table (emptied when full) instead of parsing the same string again.
pub fn device_of(user_agent: Option<&str>) -> Device {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    static SEEN: LazyLock<Mutex<HashMap<String, Device>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    const KEEP: usize = 1024;
    let Some(ua) = user_agent.filter(|u| !u.is_empty()) else { return (None, None) };
    if let Some(d) = SEEN.lock().ok().and_then(|m| m.get(ua).cloned()) {
        return d;
    }
    let d = parse_device(ua);
    if let Ok(mut m) = SEEN.lock() {
        if m.len() >= KEEP {
            m.clear();
        }
        m.insert(ua.to_string(), d.clone());
    }
    d
}

fn parse_device(ua: &str) -> Device {
    match woothee::parser::Parser::new().parse(ua) {
        Some(r) => {
            // woothee says "UNKNOWN" for a version it cannot tell (Linux has none): leave it out.
            let known = |v: &str| !v.is_empty() && v != woothee::woothee::VALUE_UNKNOWN;
            let browser = if known(r.version) { format!("{} {}", r.name, r.version) } else { r.name.to_string() };
            let os = if known(&r.os_version) { format!("{} {}", r.os, r.os_version) } else { r.os.to_string() };
            (Some(truncate(&browser).into()), Some(truncate(&os).into()))
        }
        None => (None, None),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Starts a session; returns the token for the cookie.
pub async fn start(
    core: &Core,
    subject: Subject,
    stage: Stage,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<(String, i64)> {
    let (token, hash) = new_token();
    let (csrf, _) = new_token();
    let (idle, absolute) = timeouts(core, subject.kind);
    let (browser, os) = device_of(meta.user_agent.as_deref());
    let mut tx = core.db.begin().await?;
    let id = repo::insert(
        &mut tx,
        &repo::NewRow {
            hash: &hash,
            subject,
            stage,
            csrf: &csrf,
            idle,
            expires_at: now.plus(absolute),
            ip: meta.ip.as_deref(),
            browser: browser.as_deref(),
            os: os.as_deref(),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((token, id))
}

/// The live session of a token, if any; refreshes `last_seen_at` at most once a minute.
pub async fn lookup(core: &Core, token: &str, now: UnixMs) -> Result<Option<SessionRow>> {
    if token.len() != 43 {
        return Ok(None);
    }
    let Some(s) = repo::live_by_hash(&core.db, &hash_token(token), now).await? else { return Ok(None) };
    if now.0 - s.last_seen_at.0 >= TOUCH_EVERY.as_millis() as i64 {
        let mut tx = core.db.begin().await?;
        repo::touch(&mut tx, s.id, now).await?;
        tx.commit().await?;
    }
    Ok(Some(s))
}

/// A new token for the same session, and the new stage (login step done, privilege change):
/// a token seen before the change is worthless after it.
pub async fn rotate(core: &Core, id: i64, stage: Stage, now: UnixMs) -> Result<String> {
    let (token, hash) = new_token();
    let mut tx = core.db.begin().await?;
    repo::rotate(&mut tx, id, &hash, stage, now).await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn end(core: &Core, id: i64, reason: &str, now: UnixMs) -> Result<()> {
    let mut tx = core.db.begin().await?;
    repo::revoke(&mut tx, id, reason, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a subject inside the caller's transaction.
pub async fn end_all(tx: &mut crate::db::Tx, subject: Subject, reason: &str, now: UnixMs) -> Result<u64> {
    Ok(repo::revoke_all(tx, subject, reason, now).await?)
}

pub async fn list_live(core: &Core, subject: Subject, now: UnixMs) -> Result<Vec<SessionRow>> {
    Ok(repo::live_of(&core.db, subject, now).await?)
}

/// Leaves a one-time message for the next page this session shows.
pub async fn set_flash(core: &Core, id: i64, message_key: &str) -> Result<()> {
    let mut tx = core.db.begin().await?;
    repo::set_flash(&mut tx, id, Some(message_key)).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn take_flash(core: &Core, s: &SessionRow) -> Result<Option<String>> {
    if s.flash.is_none() {
        return Ok(None);
    }
    let mut tx = core.db.begin().await?;
    repo::set_flash(&mut tx, s.id, None).await?;
    tx.commit().await?;
    Ok(s.flash.clone())
}

/// Deletes sessions that ended more than 30 days ago (retention: ARCHITECTURE §5).
pub async fn purge(core: &Core, now: UnixMs) -> Result<u64> {
    Ok(repo::purge(&core.db, now.minus(Duration::from_secs(30 * 86_400))).await?)
}
