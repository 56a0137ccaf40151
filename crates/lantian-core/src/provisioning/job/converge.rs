//! Converging a created server: suspend, resume, terminate, power actions.
//!
//! Each action is one module call, repeated until it answers `Done`: an answer `Pending` stores
//! the upstream's operation on the service and parks the job; the next run polls it and, once
//! it ended, calls the action again (every module call is safe to repeat). A failure that may
//! pass is retried with back-off for about a day, then staff are alerted with the last error;
//! the service keeps its state meanwhile (it is what the upstream has), and the staff queue
//! lists it, since its state differs from what it should be.

use std::time::Duration;

use super::super::provider::{Handle, OpState, PowerAction, Progress, ProvError, Provider, failure_report};
use super::super::repo::JobService;
use super::super::repo::lifecycle::{self as repo, PendingOp};
use super::{alert_staff, enqueue, server_name};
use crate::authz::Subject;
use crate::billing;
use crate::jobs::{ClaimedJob, JobError, JobOutcome};
use crate::notify::{self, Event};
use crate::{Core, UnixMs};

/// How soon an operation the upstream gave no hint for is polled again.
const POLL_AFTER: Duration = Duration::from_secs(2);

/// A lifecycle action as the module is called for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Suspend,
    Resume,
    Terminate,
    Power(PowerAction),
    /// Paying the upstream (a reseller) for months the customer paid us.
    Renew(u32),
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Terminate => "terminate",
            Action::Power(PowerAction::Start) => "start",
            Action::Power(PowerAction::Stop) => "stop",
            Action::Power(PowerAction::Reboot) => "reboot",
            Action::Power(PowerAction::Shutdown) => "shutdown",
            Action::Renew(_) => "renew",
        }
    }

    async fn call(self, p: &dyn Provider, h: &Handle) -> Result<Progress, ProvError> {
        match self {
            Action::Suspend => p.suspend(h).await,
            Action::Resume => p.unsuspend(h).await,
            Action::Terminate => p.terminate(h).await,
            Action::Power(a) => p.power(h, a).await,
            Action::Renew(months) => p.renew(h, months).await,
        }
    }

    /// Calling it again renews (or reboots) again: its operation ending is the action done,
    /// and a lost answer is for staff to look at, not to retry.
    fn repeats(self) -> bool {
        matches!(self, Action::Power(PowerAction::Reboot) | Action::Renew(_))
    }
}

/// A power action by its stored name (`services.power_request`).
pub(crate) fn power_action(name: &str) -> Option<PowerAction> {
    match name {
        "start" => Some(PowerAction::Start),
        "stop" => Some(PowerAction::Stop),
        "reboot" => Some(PowerAction::Reboot),
        _ => None,
    }
}

/// Shuts the server down for being overdue (or on staff's order); the customer is told.
pub(super) async fn suspend(core: &Core, job: &ClaimedJob, s: &JobService) -> Result<JobOutcome, JobError> {
    if let Some(parked) = run(core, job, s, Action::Suspend).await? {
        return Ok(parked);
    }
    settle(core, s, "suspended", Event::ServiceSuspended).await
}

/// Brings a suspended server back (paid, or staff's order); the customer is told.
pub(super) async fn resume(core: &Core, job: &ClaimedJob, s: &JobService) -> Result<JobOutcome, JobError> {
    if let Some(parked) = run(core, job, s, Action::Resume).await? {
        return Ok(parked);
    }
    settle(core, s, "active", Event::ServiceResumed).await
}

/// Pays the upstream (a reseller) for the months the customer renewed: None when done (the
/// caller goes on converging), or the job parked.
pub(super) async fn renew_upstream(
    core: &Core,
    job: &ClaimedJob,
    s: &JobService,
) -> Result<Option<JobOutcome>, JobError> {
    let months = u32::try_from(s.upstream_renew_months).unwrap_or(0);
    if let Some(parked) = run(core, job, s, Action::Renew(months)).await? {
        return Ok(Some(parked));
    }
    repo::paid_upstream(&core.db, s.id, s.upstream_renew_months).await?;
    tracing::info!(service = s.id, months, "renewed at the upstream");
    Ok(None)
}

/// The customer's power action, while the server is active.
pub(super) async fn power(core: &Core, job: &ClaimedJob, s: &JobService) -> Result<JobOutcome, JobError> {
    let Some(name) = s.power_request.as_deref() else { return Ok(JobOutcome::Done) };
    let Some(action) = power_action(name) else {
        repo::clear_power(&core.db, s.id, name).await?;
        return Ok(JobOutcome::Done);
    };
    if let Some(parked) = run(core, job, s, Action::Power(action)).await? {
        return Ok(parked);
    }
    repo::clear_power(&core.db, s.id, name).await?;
    tracing::info!(service = s.id, action = name, "power action done");
    Ok(JobOutcome::Done)
}

/// Deletes the server. Overdue services are checked once more first: in one transaction their
/// unpaid renewal invoices are cancelled (so no payment can land after the check) and their
/// expiry read; paid meanwhile, they go back to what their expiry says instead. A closure or
/// staff's order terminates without that check.
pub(super) async fn terminate(core: &Core, job: &ClaimedJob, s: &JobService) -> Result<JobOutcome, JobError> {
    if s.op.is_none() && s.desired_reason.as_deref() == Some("overdue") && !still_overdue(core, s).await? {
        return Ok(JobOutcome::Done);
    }
    let has_server = s.remote_id.is_some() || matches!(s.state.as_str(), "provisioning" | "needs_attention");
    if has_server && let Some(parked) = run(core, job, s, Action::Terminate).await? {
        return Ok(parked);
    }
    let now = core.now();
    let mut tx = core.db.begin().await?;
    for invoice in repo::unpaid_renewals(&mut tx, s.id).await? {
        billing::cancel_invoice_in(&mut tx, invoice, now).await?;
    }
    if repo::set_state(&mut tx, s.id, "terminated", now).await? {
        repo::release_pools(&mut tx, s.id).await?;
        tell(&mut tx, core, s, Event::ServiceTerminated, now).await?;
    }
    tx.commit().await?;
    tracing::info!(service = s.id, reason = s.desired_reason.as_deref().unwrap_or(""), "service terminated");
    Ok(JobOutcome::Done)
}

/// For an overdue termination: cancels the unpaid renewals and re-reads the expiry, in one
/// transaction. False (and the service set back to active or suspended, with a job) when it was
/// paid meanwhile.
async fn still_overdue(core: &Core, s: &JobService) -> Result<bool, JobError> {
    let now = core.now();
    let mut tx = core.db.begin().await?;
    for invoice in repo::unpaid_renewals(&mut tx, s.id).await? {
        billing::cancel_invoice_in(&mut tx, invoice, now).await?;
    }
    let expires_at = repo::expiry_in(&mut tx, s.id).await?.unwrap_or(now);
    let back_to = super::super::lifecycle::due_state(expires_at, now, &core.config.lifecycle);
    if back_to == "terminated" {
        tx.commit().await?;
        return Ok(true);
    }
    if let Some(generation) = repo::set_desired(&mut tx, s.id, back_to, "paid").await? {
        enqueue(&mut tx, core, s.id, generation, now).await?;
    }
    tx.commit().await?;
    tracing::info!(service = s.id, back_to, "paid before its termination ran: kept");
    Ok(false)
}

/// Runs `action` until the module answers `Done` (None), or parks the job on an operation in
/// flight (Some).
async fn run(core: &Core, job: &ClaimedJob, s: &JobService, action: Action) -> Result<Option<JobOutcome>, JobError> {
    let Some(provider) = s.upstream.as_deref().and_then(|u| core.upstreams.get(u)).cloned() else {
        let why = format!("upstream {:?} is not configured", s.upstream.as_deref().unwrap_or(""));
        return Err(give_up(core, s, action, &why).await?);
    };
    if let Some(pending) = s.op.as_deref().and_then(|json| serde_json::from_str::<PendingOp>(json).ok())
        && pending.action == action.name()
    {
        match provider.poll(&pending.op).await {
            Ok(OpState::Running) => return Ok(Some(JobOutcome::ParkUntil(core.now().plus(POLL_AFTER)))),
            Ok(OpState::Succeeded) => {
                repo::save_op(&core.db, s.id, None).await?;
                if action.repeats() {
                    return Ok(None);
                }
            }
            Ok(OpState::Failed { error, log }) => {
                repo::save_op(&core.db, s.id, None).await?;
                let report = failure_report(&error, &log);
                return Err(failed(core, job, s, action, ProvError::Transient(report)).await?);
            }
            Err(e) => return Err(failed(core, job, s, action, e).await?),
        }
    }
    let handle = match handle_of(provider.as_ref(), s).await {
        Ok(Some(h)) => h,
        // Nothing was ever made there: nothing to act on.
        Ok(None) => return Ok(None),
        Err(e) => return Err(failed(core, job, s, action, e).await?),
    };
    match action.call(provider.as_ref(), &handle).await {
        Ok(Progress::Done) => {
            repo::set_last_error(&core.db, s.id, None).await?;
            Ok(None)
        }
        Ok(Progress::Pending { op, poll_after }) => {
            let pending = PendingOp { action: action.name().to_string(), op };
            repo::save_op(&core.db, s.id, Some(&pending)).await?;
            Ok(Some(JobOutcome::ParkUntil(core.now().plus(poll_after))))
        }
        Err(ProvError::NotFound(_)) if action == Action::Terminate => Ok(None),
        Err(e) => Err(failed(core, job, s, action, e).await?),
    }
}

/// The server's handle: the stored one, or — for a create that never finished — the one the
/// upstream finds by our key (None: it made nothing).
async fn handle_of(provider: &dyn Provider, s: &JobService) -> Result<Option<Handle>, ProvError> {
    if let Some(remote_id) = &s.remote_id {
        return Ok(Some(Handle { remote_id: remote_id.clone(), node: s.node.clone() }));
    }
    provider.find_by_key(&format!("svc-{}", s.id)).await
}

/// A failed call: retried while it may pass and attempts remain; else staff are alerted with
/// the text, and the job ends.
async fn failed(
    core: &Core,
    job: &ClaimedJob,
    s: &JobService,
    action: Action,
    e: ProvError,
) -> Result<JobError, JobError> {
    let text = format!("{}: {e}", action.name());
    tracing::warn!(service = s.id, action = action.name(), error = %e, "lifecycle action failed");
    repo::set_last_error(&core.db, s.id, Some(&text)).await?;
    let lost = matches!(e, ProvError::UnknownOutcome(_)) && action.repeats();
    if e.is_retryable() && !lost && job.attempt < i64::from(core.config.jobs.max_attempts) {
        return Ok(JobError::Retry(text));
    }
    give_up(core, s, action, &text).await
}

async fn give_up(core: &Core, s: &JobService, action: Action, why: &str) -> Result<JobError, JobError> {
    let mut tx = core.db.begin().await?;
    alert_staff(&mut tx, core, s.id, why).await?;
    tx.commit().await?;
    if let Action::Power(_) = action
        && let Some(name) = s.power_request.as_deref()
    {
        // A power action is the customer's to ask again; it does not wait for staff.
        repo::clear_power(&core.db, s.id, name).await?;
    }
    Ok(JobError::Permanent(why.to_string()))
}

/// The server is now `state`: stored, and the customer told, in one transaction.
async fn settle(core: &Core, s: &JobService, state: &str, event: Event) -> Result<JobOutcome, JobError> {
    let now = core.now();
    let mut tx = core.db.begin().await?;
    if repo::set_state(&mut tx, s.id, state, now).await? {
        tell(&mut tx, core, s, event, now).await?;
    }
    tx.commit().await?;
    tracing::info!(service = s.id, state, "service converged");
    Ok(JobOutcome::Done)
}

async fn tell(tx: &mut crate::db::Tx, core: &Core, s: &JobService, event: Event, now: UnixMs) -> Result<(), JobError> {
    if let Some(customer) = s.customer_id {
        let args: notify::Args = [("service".to_string(), server_name(s.id))].into();
        notify::notify(tx, core, Subject::customer(customer), event, args, now).await?;
    }
    Ok(())
}
