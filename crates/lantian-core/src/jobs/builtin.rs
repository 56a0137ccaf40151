//! The jobs of the jobs system itself.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::periodic::Periodic;
use super::repo::{self, JobState};
use super::{ClaimedJob, JobError, JobHandler, JobOutcome};
use crate::{Core, Result};

/// Deletes finished jobs (their payloads can hold mail bodies) and old periodic-run rows
/// after the configured retention, in batches so no transaction grows large.
pub struct PurgeFinishedJobs;

const BATCH: i64 = 1000;

#[async_trait]
impl Periodic for PurgeFinishedJobs {
    async fn run(&self, core: &Core) -> Result<()> {
        let day = Duration::from_secs(86_400);
        let cfg = &core.config.jobs;
        let now = core.now();
        for (state, days) in [(JobState::Done, cfg.done_retention_days), (JobState::Dead, cfg.dead_retention_days)] {
            let before = now.minus(day * days);
            while repo::delete_finished(&core.db, state, before, BATCH).await? == BATCH as u64 {}
        }
        repo::delete_period_runs(&core.db, now.minus(day * cfg.done_retention_days)).await?;
        Ok(())
    }
}

/// Deletes sessions that ended more than 30 days ago.
pub struct PurgeSessions;

#[async_trait]
impl Periodic for PurgeSessions {
    async fn run(&self, core: &Core) -> Result<()> {
        crate::sessions::purge(core, core.now()).await.map(|_| ())
    }
}

/// Deletes accounts whose e-mail was never verified, 30 days after sign-up.
pub struct PurgeUnverified;

#[async_trait]
impl Periodic for PurgeUnverified {
    async fn run(&self, core: &Core) -> Result<()> {
        crate::accounts::purge_unverified(core).await.map(|_| ())
    }
}

/// Drops rate-limit windows that have ended.
pub struct PurgeRateLimits;

#[async_trait]
impl Periodic for PurgeRateLimits {
    async fn run(&self, core: &Core) -> Result<()> {
        crate::ratelimit::purge(&core.db, core.now()).await.map(|_| ())
    }
}

/// `jobs.selftest`: a diagnostic job for operators (`lantian jobs selftest`) that proves the
/// workers are alive and shows how they share work. It does nothing but wait a little.
pub const SELFTEST: &str = "jobs.selftest";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelfTestPayload {
    /// How long the job pretends to work, in milliseconds (at most 10 s).
    pub work_ms: u64,
}

pub struct SelfTest;

#[async_trait]
impl JobHandler for SelfTest {
    async fn run(&self, _core: &Core, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
        let p: SelfTestPayload =
            serde_json::from_str(&job.payload).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
        tokio::time::sleep(Duration::from_millis(p.work_ms.min(10_000))).await;
        Ok(JobOutcome::Done)
    }
}
