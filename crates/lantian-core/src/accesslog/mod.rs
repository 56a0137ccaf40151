//! The access log (privacy policy C1.7): every request is logged with the client's IP address,
//! browser name and version, operating system, date and time, and the page requested; plus who
//! made it once a session or token was resolved, and the sign-in events (signed in, failed,
//! signed out) that detecting credential stuffing and brute force needs.
//!
//! Requests hand their row to a batching writer ([`AccessLogWriter`]) over a bounded channel;
//! when the channel is full the request waits (back-pressure): a row is never dropped.
//!
//! Rows are kept at least six months (C5.4): `logs.retention_days`, never below 184. The
//! periodic task `accesslog.retention` removes what is older. On PostgreSQL the table is
//! partitioned by calendar month (UTC) and whole months are dropped once every row in them has
//! expired (so a row may stay up to a month longer than `retention_days`); on SQLite expired
//! rows are deleted in short batches.

mod repo;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use repo::{LogRow, SearchFilter};
pub use writer::{AccessLogHandle, AccessLogWriter};

use crate::audit::{self, Event};
use crate::authz::{Permission, Principal, Subject};
use crate::db::{Db, DbKind};
use crate::jobs::Periodic;
use crate::{Core, Error, RequestMeta, Result, UnixMs};

/// What a row records: an ordinary request, or a request that was also a sign-in event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessEvent {
    Request,
    SignIn,
    SignInFailed,
    SignOut,
}

impl AccessEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessEvent::Request => "request",
            AccessEvent::SignIn => "sign_in",
            AccessEvent::SignInFailed => "sign_in_failed",
            AccessEvent::SignOut => "sign_out",
        }
    }
}

/// One request, as the web layer hands it to the writer. The texts are shared (`Arc<str>`):
/// sqlx copies a bound `&str` into a new allocation, while binding an `Arc<str>` only counts a
/// reference, and the writer keeps its rows until they are committed (it retries an outage).
#[derive(Debug, Clone)]
pub struct Entry {
    /// When the request arrived.
    pub at: UnixMs,
    pub ip: Arc<str>,
    /// Browser name and version, and operating system, from the User-Agent.
    pub browser: Option<Arc<str>>,
    pub os: Option<Arc<str>>,
    pub method: Arc<str>,
    /// Path and query, already passed through [`redact_path`].
    pub path: Arc<str>,
    pub status: u16,
    pub latency_us: i64,
    pub subject: Option<Subject>,
    pub event: AccessEvent,
    pub request_id: Option<Arc<str>>,
}

/// Query keys whose values say nothing about a person (paging, display); every other value is
/// replaced, since query strings carry e-mail addresses, tokens and search terms.
const HARMLESS_KEYS: [&str; 8] = ["page", "limit", "after", "before", "lang", "theme", "sort", "order"];

/// The longest `path` stored, in characters.
pub const MAX_PATH_CHARS: usize = 512;

/// The page requested as it is logged: the path as is, and the query with every value outside
/// the allow-list replaced by `REDACTED` (keys are kept: they say which form was used). A
/// parameter without `=` may itself be a secret and is replaced whole.
pub fn redact_path(path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path_and_query, ""),
    };
    let mut out = String::with_capacity(path_and_query.len().min(MAX_PATH_CHARS));
    out.push_str(path);
    let mut first = true;
    for part in query.split('&').filter(|p| !p.is_empty()) {
        out.push(if first { '?' } else { '&' });
        first = false;
        match part.split_once('=') {
            Some((key, value)) if HARMLESS_KEYS.contains(&key) => {
                out.push_str(key);
                out.push('=');
                out.push_str(value);
            }
            Some((key, _)) => {
                out.push_str(key);
                out.push_str("=REDACTED");
            }
            None => out.push_str("REDACTED"),
        }
        if out.len() > MAX_PATH_CHARS * 4 {
            break;
        }
    }
    match out.char_indices().nth(MAX_PATH_CHARS) {
        Some((cut, _)) => out[..cut].to_string(),
        None => out,
    }
}

/// The console's search, newest first; staff with `AccessLogRead` only. Looking through who
/// did what from where is itself a read of personal data, so each search is an audit row (the
/// subject searched for as its target; never the IP address typed).
pub async fn search(
    db: &Db,
    who: &Principal,
    filter: &SearchFilter,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<Vec<LogRow>> {
    who.require(Permission::AccessLogRead)?;
    let rows = repo::search(db, filter).await?;
    let mut ev = Event::new("access_log.search").fields(&["ip", "browser", "os", "path"]);
    if let Some(s) = filter.subject {
        ev = ev.target(s.kind.as_str(), s.id);
    }
    let mut tx = db.begin().await?;
    audit::record(&mut tx, who, meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    Ok(rows)
}

/// A subject's recent sign-ins and failed sign-in attempts, newest first (for "recent
/// activity" views: the subject's own, or staff handling a compromised account).
pub async fn login_history(db: &Db, subject: Subject, limit: i64) -> Result<Vec<LogRow>> {
    Ok(repo::login_history(db, subject, limit.clamp(1, 500)).await?)
}

/// A calendar month in UTC: the unit of the PostgreSQL partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Month {
    year: i16,
    month: i8,
}

impl Month {
    pub(crate) fn of(at: UnixMs) -> Month {
        let date = at.to_timestamp().to_zoned(jiff::tz::TimeZone::UTC).date();
        Month { year: date.year(), month: date.month() }
    }

    pub(crate) fn next(self) -> Month {
        if self.month == 12 { Month { year: self.year + 1, month: 1 } } else { Month { month: self.month + 1, ..self } }
    }

    /// The first millisecond of the month.
    pub(crate) fn start(self) -> Result<UnixMs> {
        let date = jiff::civil::Date::new(self.year, self.month, 1).map_err(|e| Error::Internal(e.into()))?;
        let z = date.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| Error::Internal(e.into()))?;
        Ok(UnixMs(z.timestamp().as_millisecond()))
    }

    /// The partition's name, `access_log_2026_11`.
    pub(crate) fn table(self) -> String {
        format!("access_log_{:04}_{:02}", self.year, self.month)
    }

    /// The month of a partition name made by [`Month::table`]; None for any other table.
    fn of_table(name: &str) -> Option<Month> {
        let rest = name.strip_prefix("access_log_")?;
        let (y, m) = rest.split_once('_')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let month = Month { year: y.parse().ok()?, month: m.parse().ok()? };
        (1..=12).contains(&month.month).then_some(month)
    }
}

/// PostgreSQL: makes sure the monthly partitions of `now`'s month and the next exist, so rows
/// never pile up in the DEFAULT partition. A month whose rows already sit in the DEFAULT
/// partition (no partition existed when they came) cannot be created without moving them;
/// it is skipped with a warning, and retention deletes those rows from DEFAULT in batches.
pub(crate) async fn ensure_partitions(db: &Db, now: UnixMs) -> Result<()> {
    let Db::Pg(_) = db else { return Ok(()) };
    let this = Month::of(now);
    for m in [this, this.next()] {
        let (start, end) = (m.start()?, m.next().start()?);
        if let Err(e) = repo::create_partition(db, &m.table(), start, end).await {
            tracing::warn!(partition = %m.table(), error = %e, "access log partition not created");
        }
    }
    Ok(())
}

/// What a retention run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Whole monthly partitions dropped (PostgreSQL).
    pub partitions: u64,
    /// Rows deleted one batch at a time (SQLite; the DEFAULT partition on PostgreSQL).
    pub rows: u64,
}

/// Rows deleted per short transaction, so the single SQLite writer is never held for long.
const DELETE_BATCH: i64 = 1_000;

/// After each batch the purge rests this many times as long as the batch took: a backlog of
/// millions of rows (a first run, a shortened retention) then uses at most a quarter of one
/// core and takes longer, rather than starving the requests served meanwhile.
const REST_PER_BATCH: u32 = 3;

/// Removes what is older than `logs.retention_days` and creates the coming partitions.
pub async fn purge_expired(core: &Core, now: UnixMs) -> Result<Purged> {
    let days = u64::from(core.config.logs.retention_days);
    let cutoff = now.minus(Duration::from_secs(days * 86_400));
    let mut purged = Purged::default();
    if core.db.kind() == DbKind::Postgres {
        ensure_partitions(&core.db, now).await?;
        for name in repo::partitions(&core.db).await? {
            let Some(m) = Month::of_table(&name) else { continue };
            // Dropped only when every row it can hold has expired.
            if m.next().start()? <= cutoff {
                repo::drop_partition(&core.db, &m.table()).await?;
                purged.partitions += 1;
            }
        }
    }
    loop {
        let started = std::time::Instant::now();
        let n = repo::delete_expired(&core.db, cutoff, DELETE_BATCH).await?;
        purged.rows += n;
        if n < DELETE_BATCH as u64 {
            break;
        }
        tokio::time::sleep(started.elapsed() * REST_PER_BATCH).await;
    }
    if purged != Purged::default() {
        tracing::info!(partitions = purged.partitions, rows = purged.rows, "access log retention");
    }
    Ok(purged)
}

/// The periodic task `accesslog.retention` (hourly).
pub struct Retention;

#[async_trait]
impl Periodic for Retention {
    async fn run(&self, core: &Core) -> Result<()> {
        purge_expired(core, core.now()).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_redacted_except_harmless_keys() {
        assert_eq!(redact_path("/api/v1/regions?limit=2&email=a@b.c"), "/api/v1/regions?limit=2&email=REDACTED");
        assert_eq!(redact_path("/staff/audit"), "/staff/audit");
        assert_eq!(redact_path("/x?"), "/x");
        assert_eq!(redact_path("/x?token"), "/x?REDACTED");
        assert_eq!(
            redact_path("/x?page=3&sort=at&order=desc&q=alice&lang=en&&theme=dark&after=9&before=1"),
            "/x?page=3&sort=at&order=desc&q=REDACTED&lang=en&theme=dark&after=9&before=1"
        );
        // A key is matched exactly, not by prefix.
        assert_eq!(redact_path("/x?pages=1&limit_x=2"), "/x?pages=REDACTED&limit_x=REDACTED");
    }

    #[test]
    fn long_paths_are_capped() {
        let long = format!("/{}?page={}", "a".repeat(600), "9".repeat(600));
        assert_eq!(redact_path(&long).chars().count(), MAX_PATH_CHARS);
        let wide = format!("/{}", "蓝".repeat(600));
        assert_eq!(redact_path(&wide).chars().count(), MAX_PATH_CHARS);
        let many = format!("/x?{}", "k=v&".repeat(10_000));
        assert_eq!(redact_path(&many).chars().count(), MAX_PATH_CHARS);
    }

    #[test]
    fn months_in_utc() {
        // 2026-11-29T23:59:59.999Z and the first instant of December.
        let nov = Month::of(UnixMs(1_796_083_199_999));
        assert_eq!(nov.table(), "access_log_2026_11");
        assert_eq!(nov.start().unwrap(), UnixMs(1_793_491_200_000));
        assert_eq!(nov.next().start().unwrap(), UnixMs(1_796_083_200_000));
        assert_eq!(Month::of(UnixMs(1_796_083_200_000)).table(), "access_log_2026_12");
        assert_eq!(nov.next().next().table(), "access_log_2027_01");
        assert_eq!(Month::of_table("access_log_2027_01"), Some(nov.next().next()));
        assert_eq!(Month::of_table("access_log_default"), None);
        assert_eq!(Month::of_table("access_log_2027_13"), None);
    }
}
