//! The `provision` job: takes one service to its desired state at its upstream (research
//! §4.3). Every change of what a service should be (paid, overdue, terminated, a power action)
//! bumps its generation and enqueues a job keyed by it in the same transaction; each job
//! converges the service to what it should be *now*, so stale jobs merge instead of running
//! out of order.
//!
//! One worker per service at a time: a job first takes the service's lease (a conditional
//! update); a job that finds it taken parks briefly and looks again. A job waiting on an
//! upstream operation parks itself (the operation is stored on the service) instead of holding
//! a worker.
//!
//! - desired `active`, pending or provisioning: [`create`], one checkpointed step per run;
//! - desired `suspended` / `active` between active and suspended: [`converge`] suspends or
//!   resumes the server;
//! - desired `terminated`: [`converge`] deletes it (after re-checking payment when the reason
//!   is being overdue) and returns its vmid and address to the pools;
//! - active and a power action asked for: [`converge`] runs it.

mod converge;

pub(crate) use converge::power_action;
mod create;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::repo::JobService;
use super::repo::lifecycle as repo;
use super::repo::{for_job, needs_attention};
use crate::authz::{Permission, Subject};
use crate::db::Tx;
use crate::jobs::{self, ClaimedJob, JobError, JobHandler, JobOutcome, NewJob};
use crate::notify::{self, Event};
use crate::{Core, Result, UnixMs};

pub const PROVISION: &str = "provision";

/// Why a service waits for staff (the text they read).
pub(super) const NO_TARGET: &str = "no upstream for this plan and region";

/// How long a job holds its service: longer than any one run (each upstream call has its own
/// time-out), short enough that a crashed worker's service is picked up again soon.
const LEASE: Duration = Duration::from_secs(300);
/// How soon a job that found its service leased looks again.
const LEASED_RETRY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionPayload {
    pub service_id: i64,
}

/// Enqueues the job for the service's `generation`, in the caller's transaction (the one that
/// changed what the service should be).
pub(crate) async fn enqueue(tx: &mut Tx, core: &Core, service_id: i64, generation: i64, now: UnixMs) -> Result<()> {
    enqueue_all(tx, core, &[(service_id, generation)], now).await
}

/// [`enqueue`] for many (service, generation) pairs, a few statements for the lot.
pub(crate) async fn enqueue_all(tx: &mut Tx, core: &Core, services: &[(i64, i64)], now: UnixMs) -> Result<()> {
    let jobs = services
        .iter()
        .map(|(service_id, generation)| {
            let job = NewJob::new(PROVISION, &ProvisionPayload { service_id: *service_id }, now)?;
            Ok(job.dedupe(format!("service:{service_id}:{generation}")))
        })
        .collect::<Result<Vec<_>>>()?;
    jobs::enqueue_all(tx, core, &jobs, now).await?;
    Ok(())
}

pub struct Provision;

#[async_trait]
impl JobHandler for Provision {
    async fn run(&self, core: &Core, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
        let p: ProvisionPayload =
            serde_json::from_str(&job.payload).map_err(|e| JobError::Permanent(format!("bad payload: {e}")))?;
        let now = core.now();
        if !repo::lease(&core.db, p.service_id, now, now.plus(LEASE)).await? {
            if !repo::exists(&core.db, p.service_id).await? {
                return Err(JobError::Permanent(format!("service {} does not exist", p.service_id)));
            }
            return Ok(JobOutcome::ParkUntil(now.plus(LEASED_RETRY)));
        }
        let outcome = converge_leased(core, job, p.service_id).await;
        if let Err(e) = repo::release(&core.db, p.service_id).await {
            // The lease runs out on its own; the next job waits until then.
            tracing::warn!(service = p.service_id, error = %e, "could not release the service's lease");
        }
        outcome
    }
}

async fn converge_leased(core: &Core, job: &ClaimedJob, id: i64) -> Result<JobOutcome, JobError> {
    let mut s = load(core, id).await?;
    let live = matches!(s.state.as_str(), "active" | "suspended") && s.desired != "terminated";
    if live && s.upstream_renew_months > 0 {
        if let Some(parked) = converge::renew_upstream(core, job, &s).await? {
            return Ok(parked);
        }
        s = load(core, id).await?;
    }
    match (s.desired.as_str(), s.state.as_str()) {
        (_, "terminated") => Ok(JobOutcome::Done),
        ("terminated", _) => converge::terminate(core, job, &s).await,
        (_, "needs_attention") => Ok(JobOutcome::Done),
        ("active", "pending" | "provisioning") => create::step(core, job, &s).await,
        ("suspended", "active") => converge::suspend(core, job, &s).await,
        ("active", "suspended") => converge::resume(core, job, &s).await,
        ("active", "active") if s.power_request.is_some() => converge::power(core, job, &s).await,
        _ => Ok(JobOutcome::Done),
    }
}

async fn load(core: &Core, id: i64) -> Result<JobService, JobError> {
    for_job(&core.db, id).await?.ok_or_else(|| JobError::Permanent(format!("service {id} does not exist")))
}

/// The service waits for staff, who are told with why; nothing to retry.
async fn attention(core: &Core, s: &JobService, why: &str) -> Result<JobOutcome, JobError> {
    let mut tx = core.db.begin().await?;
    needs_attention(&mut tx, s.id, why).await?;
    alert_staff(&mut tx, core, s.id, why).await?;
    tx.commit().await?;
    tracing::warn!(service = s.id, why, "service needs attention");
    Ok(JobOutcome::Done)
}

/// Tells every member of staff who manages services that service `id` waits for them.
async fn alert_staff(tx: &mut Tx, core: &Core, id: i64, why: &str) -> Result<()> {
    let args: notify::Args = [("service".to_string(), id.to_string()), ("why".to_string(), why.to_string())].into();
    let now = core.now();
    for member in crate::staff::holders_of(tx, Permission::ServicesManage).await? {
        notify::notify(tx, core, Subject::staff(member), Event::ServiceNeedsAttention, args.clone(), now).await?;
    }
    Ok(())
}

/// `lc-<id>`: how the customer and the upstream name the server.
pub(crate) fn server_name(id: i64) -> String {
    format!("lc-{id}")
}
