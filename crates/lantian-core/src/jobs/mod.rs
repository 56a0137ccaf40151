//! The jobs outbox: follow-up work (send mail, provision, reconcile) is inserted in the same
//! transaction as the business change that needs it, and run later by a worker.
//!
//! Workers claim jobs with one conditional `UPDATE ... RETURNING` (plus `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL), so two workers never run the same job. A failed job is retried
//! with back-off and jitter, then parked as `dead` with its last error for staff to retry.
//! A job that waits on something slow outside parks itself until a given time instead of
//! holding a worker. Periodic tasks run once per period across all instances.

mod builtin;
mod periodic;
pub(crate) mod repo;
mod rewrap;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

pub use builtin::{PurgeFinishedJobs, SELFTEST, SelfTest, SelfTestPayload};
pub use periodic::{Periodic, PeriodicTask};
pub use repo::{JobRow, JobState, JobSummary};
pub use rewrap::{REWRAP, RewrapPayload};
pub use worker::Worker;

use crate::audit;
use crate::authz::{Permission, Principal};
use crate::db::{Db, Tx};
use crate::{Core, Error, Result, UnixMs};

/// A job as a handler receives it.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// 1 on the first run.
    pub attempt: i64,
}

/// What a handler reports when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Not finished, nothing wrong: run again at this time (an upstream task is still going).
    /// Parking costs no attempt.
    ParkUntil(UnixMs),
}

/// Why a run failed. `Permanent` goes straight to `dead`: retrying cannot help.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Retry(String),
    #[error("{0}")]
    Permanent(String),
}

impl From<Error> for JobError {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation { .. } | Error::NotFound | Error::Forbidden => JobError::Permanent(e.to_string()),
            _ => JobError::Retry(e.to_string()),
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Retry(format!("database: {e}"))
    }
}

#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, core: &Core, job: &ClaimedJob) -> Result<JobOutcome, JobError>;
}

/// The job kinds this process can run, by name.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    periodic: Vec<PeriodicTask>,
}

impl Registry {
    /// Every job kind and periodic task of the product.
    pub fn standard() -> Registry {
        let mut r = Registry::default();
        r.register(SELFTEST, SelfTest);
        r.register(crate::notify::deliver::EMAIL, crate::notify::deliver::SendEmail);
        r.register(crate::notify::deliver::SMS, crate::notify::deliver::SendSms);
        r.register(REWRAP, rewrap::Rewrap);
        r.register(crate::accounts::SEND_LINK, crate::accounts::SendLink);
        r.register(crate::provisioning::PROVISION, crate::provisioning::Provision);
        r.every(PeriodicTask::new("jobs.purge", std::time::Duration::from_secs(3600), PurgeFinishedJobs));
        r.every(PeriodicTask::new("sessions.purge", std::time::Duration::from_secs(3600), builtin::PurgeSessions));
        r.every(PeriodicTask::new(
            "accounts.purge_unverified",
            std::time::Duration::from_secs(3600),
            builtin::PurgeUnverified,
        ));
        r.every(PeriodicTask::new("ratelimits.purge", std::time::Duration::from_secs(600), builtin::PurgeRateLimits));
        r.every(PeriodicTask::new(
            "accesslog.retention",
            std::time::Duration::from_secs(3600),
            crate::accesslog::Retention,
        ));
        r.every(crate::billing::cancel_unpaid_task());
        r.every(crate::payments::reconcile::task());
        r.every(crate::kyc::verify::retry_task());
        r.every(crate::kyc::guardian::coming_of_age_task());
        r.every(crate::provisioning::lifecycle::task());
        r.every(crate::provisioning::reconcile::task());
        r
    }

    pub fn register(&mut self, kind: &'static str, handler: impl JobHandler) {
        self.handlers.insert(kind, Arc::new(handler));
    }

    pub fn every(&mut self, task: PeriodicTask) {
        self.periodic.push(task);
    }

    fn handler(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: String,
    pub run_at: UnixMs,
    pub dedupe_key: Option<String>,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: &impl Serialize, run_at: UnixMs) -> Result<NewJob> {
        let payload = serde_json::to_string(payload).map_err(|e| Error::Internal(e.into()))?;
        Ok(NewJob { kind, payload, run_at, dedupe_key: None })
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
}

/// Inserts a job inside the caller's transaction (the outbox). Returns the job id, or
/// `None` when a job with the same dedupe key already exists.
pub async fn enqueue(tx: &mut Tx, core: &Core, job: NewJob, now: UnixMs) -> Result<Option<i64>> {
    Ok(enqueue_all(tx, core, &[job], now).await?.first().copied())
}

/// [`enqueue`] for many jobs at once, in a few statements; the ids of those inserted.
pub async fn enqueue_all(tx: &mut Tx, core: &Core, jobs: &[NewJob], now: UnixMs) -> Result<Vec<i64>> {
    let max = i64::from(core.config.jobs.max_attempts);
    Ok(repo::insert(tx, jobs, max, now).await?)
}

/// Staff view: jobs in a state, newest first.
pub async fn list(db: &Db, state: JobState, limit: i64) -> Result<Vec<JobSummary>> {
    Ok(repo::list(db, state, limit).await?)
}

/// Staff action: put a dead job back in the queue with fresh attempts (audited).
pub async fn retry_dead(core: &Core, who: &Principal, id: i64, request_id: Option<&str>, now: UnixMs) -> Result<()> {
    if *who != Principal::System {
        who.require(Permission::JobsManage)?;
    }
    let mut tx = core.db.begin().await?;
    if !repo::requeue_dead(&mut tx, id, now).await? {
        return Err(Error::NotFound);
    }
    audit::record(&mut tx, who, request_id, audit::Event::new("jobs.retry").target("job", id), now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get(db: &Db, id: i64) -> Result<JobRow> {
    repo::get(db, id).await?.ok_or(Error::NotFound)
}
