//! The worker: claims due jobs, runs them with bounded concurrency, records the outcome.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::repo::{self, Finish};
use super::{ClaimedJob, JobError, JobOutcome, PeriodicTask, Registry};
use crate::{Core, Result};

pub struct Worker {
    core: Core,
    registry: Arc<Registry>,
    id: String,
}

impl Worker {
    pub fn new(core: Core, registry: Registry) -> Worker {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        let id = format!("{host}-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        Worker { core, registry: Arc::new(registry), id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn lease(&self) -> Duration {
        Duration::from_secs(self.core.config.jobs.lease_secs)
    }

    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedJob>> {
        let now = self.core.now();
        let limit = i64::try_from(limit).unwrap_or(1);
        Ok(repo::claim(&self.core.db, &self.id, now, now.plus(self.lease()), limit).await?)
    }

    /// Claims what is due (up to the configured concurrency), runs it all, and returns how many
    /// jobs ran. Tests call this to step the queue; it does not run periodic tasks.
    pub async fn step(&self) -> Result<usize> {
        let jobs = self.claim(self.core.config.jobs.concurrency as usize).await?;
        let n = jobs.len();
        let mut set = JoinSet::new();
        for job in jobs {
            set.spawn(run_one(self.core.clone(), self.registry.clone(), self.id.clone(), job));
        }
        while set.join_next().await.is_some() {}
        Ok(n)
    }

    /// Steps until nothing is due.
    pub async fn drain(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let n = self.step().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    /// Runs the periodic tasks whose period this instance wins, one after the other, and
    /// returns how many ran. `seen` remembers the last period tried per task, so an instance
    /// asks the database once per period, not per poll. Tests call this; `run` spawns instead.
    pub async fn run_periodic(&self, seen: &mut HashMap<&'static str, i64>) -> Result<usize> {
        let won = self.claim_periods(seen, &HashSet::new()).await?;
        let ran = won.len();
        for (task, period) in won {
            run_period(self.core.clone(), task, period).await;
        }
        Ok(ran)
    }

    /// The periodic tasks due whose current period this instance claimed, leaving out those
    /// still running here from an earlier period.
    async fn claim_periods(
        &self,
        seen: &mut HashMap<&'static str, i64>,
        running: &HashSet<&'static str>,
    ) -> Result<Vec<(PeriodicTask, i64)>> {
        let mut won = Vec::new();
        for task in &self.registry.periodic {
            let now = self.core.now();
            let period = task.period_of(now);
            if seen.get(task.name) == Some(&period) || running.contains(task.name) {
                continue;
            }
            seen.insert(task.name, period);
            if repo::claim_period(&self.core.db, task.name, period, &self.id, now).await? {
                won.push((task.clone(), period));
            }
        }
        Ok(won)
    }

    /// The long-running loop of `serve` and `lantian worker`, until `cancel` fires. Jobs in
    /// flight are finished before it returns.
    pub async fn run(self, cancel: CancellationToken) {
        let concurrency = self.core.config.jobs.concurrency as usize;
        let poll = Duration::from_millis(self.core.config.jobs.poll_interval_ms);
        let mut in_flight = JoinSet::new();
        // Periodic tasks run beside the jobs, not in this loop: a long purge must not stop
        // the jobs from being claimed.
        let mut periodic = JoinSet::new();
        let mut running = HashSet::new();
        let mut seen = HashMap::new();
        tracing::info!(worker = %self.id, concurrency, "worker started");
        while !cancel.is_cancelled() {
            while let Some(done) = periodic.try_join_next() {
                if let Ok(name) = done {
                    running.remove(name);
                }
            }
            match self.claim_periods(&mut seen, &running).await {
                Ok(won) => {
                    for (task, period) in won {
                        running.insert(task.name);
                        let core = self.core.clone();
                        periodic.spawn(async move {
                            let name = task.name;
                            run_period(core, task, period).await;
                            name
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "periodic tasks could not be scheduled"),
            }
            let free = concurrency.saturating_sub(in_flight.len());
            let claimed = if free > 0 {
                self.claim(free).await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not claim jobs");
                    Vec::new()
                })
            } else {
                Vec::new()
            };
            let got_work = !claimed.is_empty();
            for job in claimed {
                in_flight.spawn(run_one(self.core.clone(), self.registry.clone(), self.id.clone(), job));
            }
            if got_work && in_flight.len() < concurrency {
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
        // A periodic task is a series of short transactions that runs again next period, so
        // it is cut short rather than allowed to hold up the shutdown (a retention purge of
        // millions of rows takes minutes).
        periodic.abort_all();
        while periodic.join_next().await.is_some() {}
        tracing::info!(worker = %self.id, "worker stopped");
    }
}

/// Runs one claimed period of a task and records how it ended.
async fn run_period(core: Core, task: PeriodicTask, period: i64) {
    let result = task.job.run(&core).await;
    let error = result.as_ref().err().map(|e| e.to_string());
    if let Some(e) = &error {
        tracing::warn!(task = task.name, error = %e, "periodic task failed");
    }
    if let Err(e) = repo::finish_period(&core.db, task.name, period, core.now(), error.as_deref()).await {
        tracing::warn!(task = task.name, error = %e, "periodic task's end not recorded");
    }
}

async fn run_one(core: Core, registry: Arc<Registry>, worker: String, job: ClaimedJob) {
    let lease = Duration::from_secs(core.config.jobs.lease_secs);
    let result = match registry.handler(&job.kind) {
        None => Err(JobError::Permanent(format!("no handler for job kind `{}`", job.kind))),
        // A run longer than the lease would let another worker take the job over.
        Some(h) => tokio::time::timeout(lease, h.run(&core, &job))
            .await
            .unwrap_or_else(|_| Err(JobError::Retry(format!("timed out after {}s", lease.as_secs())))),
    };
    let now = core.now();
    let how = match &result {
        Ok(JobOutcome::Done) => Finish::Done,
        Ok(JobOutcome::ParkUntil(at)) => Finish::Park(*at),
        Err(JobError::Retry(e)) => Finish::Retry { at: now.plus(backoff(&core, job.attempt)), error: e },
        Err(JobError::Permanent(e)) => Finish::Dead { error: e },
    };
    if let Err(e) = &result {
        tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempt, error = %e, "job failed");
    }
    match repo::finish(&core.db, &job, &worker, how, now).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(job = job.id, "job result discarded: its claim had lapsed"),
        Err(e) => tracing::warn!(job = job.id, error = %e, "could not record job result; it will run again"),
    }
}

/// Doubling from the base per attempt, capped, with "equal jitter" (half fixed, half random)
/// so retries of many jobs that failed together spread out.
pub(super) fn backoff(core: &Core, attempt: i64) -> Duration {
    let cfg = &core.config.jobs;
    backoff_secs(cfg.backoff_base_secs, cfg.backoff_max_secs, attempt, &mut rand::rng())
}

fn backoff_secs(base: u64, max: u64, attempt: i64, rng: &mut impl Rng) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 40)).unwrap_or(40);
    let full = base.saturating_mul(2u64.saturating_pow(exp)).min(max);
    let half = full / 2;
    Duration::from_secs(half + rng.random_range(0..=full - half))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let mut rng = rand::rng();
        for _ in 0..200 {
            let d1 = backoff_secs(30, 3600, 1, &mut rng).as_secs();
            assert!((15..=30).contains(&d1), "{d1}");
            let d3 = backoff_secs(30, 3600, 3, &mut rng).as_secs();
            assert!((60..=120).contains(&d3), "{d3}");
            let d20 = backoff_secs(30, 3600, 20, &mut rng).as_secs();
            assert!((1800..=3600).contains(&d20), "{d20}");
        }
    }
}
