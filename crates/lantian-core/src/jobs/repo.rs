//! The SQL of the jobs outbox and of periodic-task runs.

use sqlx::FromRow;

use super::{ClaimedJob, NewJob};
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub run_at: UnixMs,
    pub attempts: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub finished_by: Option<String>,
}

/// A job without its payload, for listings.
#[derive(Debug, Clone, FromRow)]
pub struct JobSummary {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: UnixMs,
}

/// Inserts the jobs in one statement per [`crate::db::ROWS_PER_INSERT`]; the ids of those
/// inserted (a job whose dedupe key exists already is skipped).
pub async fn insert(tx: &mut Tx, jobs: &[NewJob], max_attempts: i64, now: UnixMs) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(crate::db::ROWS_PER_INSERT) {
        let inserted: Vec<i64> = on_tx!(&mut *tx, c => {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO jobs (kind, payload, state, dedupe_key, run_at, attempts, max_attempts, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut row, job| {
                row.push_bind(job.kind).push_bind(&job.payload).push("'queued'").push_bind(&job.dedupe_key);
                row.push_bind(job.run_at).push("0").push_bind(max_attempts).push_bind(now).push_bind(now);
            });
            q.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING id");
            q.build_query_scalar().fetch_all(c).await?
        });
        ids.extend(inserted);
    }
    Ok(ids)
}

#[derive(FromRow)]
struct Claimed {
    id: i64,
    kind: String,
    payload: String,
    attempts: i64,
}

/// Claims up to `limit` due jobs for `worker` until `lease_until`. A running job whose claim
/// lapsed (its worker died) is due again. PostgreSQL skips rows another worker is claiming;
/// SQLite has one writer, so the same statement without the lock clause is already exclusive.
pub async fn claim(
    db: &Db,
    worker: &str,
    now: UnixMs,
    lease_until: UnixMs,
    limit: i64,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    const SQLITE: &str = "UPDATE jobs SET state = 'running', locked_by = $1, run_at = $2, attempts = attempts + 1, updated_at = $3 \
         WHERE id IN (SELECT id FROM jobs WHERE state IN ('queued', 'running') AND run_at <= $3 ORDER BY run_at, id LIMIT $4) \
         RETURNING id, kind, payload, attempts";
    const POSTGRES: &str = "UPDATE jobs SET state = 'running', locked_by = $1, run_at = $2, attempts = attempts + 1, updated_at = $3 \
         WHERE id IN (SELECT id FROM jobs WHERE state IN ('queued', 'running') AND run_at <= $3 ORDER BY run_at, id LIMIT $4 \
         FOR UPDATE SKIP LOCKED) RETURNING id, kind, payload, attempts";
    let mut tx = db.begin().await?;
    let rows: Vec<Claimed> = match &mut tx {
        Tx::Sqlite(t) => {
            sqlx::query_as(SQLITE).bind(worker).bind(lease_until).bind(now).bind(limit).fetch_all(&mut **t).await?
        }
        Tx::Pg(t) => {
            sqlx::query_as(POSTGRES).bind(worker).bind(lease_until).bind(now).bind(limit).fetch_all(&mut **t).await?
        }
    };
    tx.commit().await?;
    let mut jobs: Vec<ClaimedJob> = rows
        .into_iter()
        .map(|r| ClaimedJob { id: r.id, kind: r.kind, payload: r.payload, attempt: r.attempts })
        .collect();
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// How a claimed run ended. Every update is guarded by the claim (worker and attempt), so a
/// worker whose claim lapsed and was taken over cannot overwrite the new run's result.
pub enum Finish<'a> {
    Done,
    Park(UnixMs),
    Retry { at: UnixMs, error: &'a str },
    Dead { error: &'a str },
}

pub async fn finish(
    db: &Db,
    job: &ClaimedJob,
    worker: &str,
    how: Finish<'_>,
    now: UnixMs,
) -> Result<bool, sqlx::Error> {
    const DONE: &str = "UPDATE jobs SET state = 'done', locked_by = NULL, finished_by = $2, updated_at = $4 \
         WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3";
    const PARK: &str = "UPDATE jobs SET state = 'queued', locked_by = NULL, attempts = attempts - 1, updated_at = $4, run_at = $5 \
         WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3";
    // Out of attempts, a retry becomes dead.
    const RETRY: &str = "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
         locked_by = NULL, updated_at = $4, run_at = $5, last_error = $6 \
         WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3";
    const DEAD: &str = "UPDATE jobs SET state = 'dead', locked_by = NULL, updated_at = $4, last_error = $5 \
         WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3";
    let mut tx = db.begin().await?;
    let r = on_tx!(&mut tx, c => {
        let q = |sql| sqlx::query(sql).bind(job.id).bind(worker).bind(job.attempt).bind(now);
        match how {
            Finish::Done => q(DONE).execute(c).await?.rows_affected(),
            Finish::Park(at) => q(PARK).bind(at).execute(c).await?.rows_affected(),
            Finish::Retry { at, error } => q(RETRY).bind(at).bind(error).execute(c).await?.rows_affected(),
            Finish::Dead { error } => q(DEAD).bind(error).execute(c).await?.rows_affected(),
        }
    });
    tx.commit().await?;
    Ok(r == 1)
}

pub async fn requeue_dead(tx: &mut Tx, id: i64, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str =
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, updated_at = $2 WHERE id = $1 AND state = 'dead'";
    let r = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(c).await?.rows_affected());
    Ok(r == 1)
}

pub async fn list(db: &Db, state: JobState, limit: i64) -> Result<Vec<JobSummary>, sqlx::Error> {
    const SQL: &str =
        "SELECT id, kind, state, attempts, last_error, updated_at FROM jobs WHERE state = $1 ORDER BY id DESC LIMIT $2";
    on_read!(db, c => sqlx::query_as(SQL).bind(state.as_str()).bind(limit).fetch_all(c).await)
}

pub async fn get(db: &Db, id: i64) -> Result<Option<JobRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, kind, payload, state, run_at, attempts, max_attempts, locked_by, last_error, finished_by \
         FROM jobs WHERE id = $1";
    on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

/// Deletes up to `batch` jobs in `state` last touched before `before`; returns how many.
pub async fn delete_finished(db: &Db, state: JobState, before: UnixMs, batch: i64) -> Result<u64, sqlx::Error> {
    const SQL: &str =
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = $1 AND updated_at < $2 ORDER BY id LIMIT $3)";
    let mut tx = db.begin().await?;
    let r = on_tx!(&mut tx, c => sqlx::query(SQL).bind(state.as_str()).bind(before).bind(batch).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(r)
}

/// Takes the run of `task` for `period`; false when another instance already has it.
pub async fn claim_period(db: &Db, task: &str, period: i64, holder: &str, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO periodic_runs (task, period, holder, started_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (task, period) DO NOTHING RETURNING period";
    let mut tx = db.begin().await?;
    let got: Option<i64> = on_tx!(&mut tx, c => sqlx::query_scalar(SQL).bind(task).bind(period).bind(holder).bind(now).fetch_optional(c).await?);
    tx.commit().await?;
    Ok(got.is_some())
}

pub async fn finish_period(
    db: &Db,
    task: &str,
    period: i64,
    now: UnixMs,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE periodic_runs SET finished_at = $3, error = $4 WHERE task = $1 AND period = $2";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(SQL).bind(task).bind(period).bind(now).bind(error).execute(c).await?.rows_affected());
    tx.commit().await
}

pub async fn delete_period_runs(db: &Db, before: UnixMs) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM periodic_runs WHERE started_at < $1";
    let mut tx = db.begin().await?;
    let r = on_tx!(&mut tx, c => sqlx::query(SQL).bind(before).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(r)
}

pub async fn set_state(tx: &mut Tx, id: i64, state: JobState) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE jobs SET state = $2 WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(state.as_str()).execute(c).await?.rows_affected());
    Ok(())
}
