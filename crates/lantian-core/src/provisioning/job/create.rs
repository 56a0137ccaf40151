//! Creating the server: takes a paid service from `pending` to `active` at its upstream, one
//! create step per run.
//!
//! 1. Pending: the real-name gate again (C1.2; staff may have revoked it since checkout), then
//!    the vmid and address from our pools, then — in one transaction, before any call that
//!    creates something — the disclosure row, the sealed first-login password and the move to
//!    `provisioning`.
//! 2. One `create` call from the stored checkpoint. `Next`: store the new checkpoint, park
//!    until it is due. `Done`: active, and the customer gets the welcome notice (the address,
//!    never the password: it is shown once in the portal).
//!    Because the checkpoint is stored before the next call and every step finds what an
//!    earlier, lost call did, a retry never creates a second VM.
//!
//! Errors carry the upstream's text or ours, never personal data (the upstream never had any).

use super::super::pools;
use super::super::provider::{Checkpoint, CreateRequest, CreateStep, IpLease, Login, ProvError, Provider};
use super::super::repo::{self, Activated, JobService};
use super::{NO_TARGET, alert_staff, attention, server_name};
use crate::authz::Subject;
use crate::crypto::Aad;
use crate::disclosures::{self, Disclosure, Recipient};
use crate::jobs::{ClaimedJob, JobError, JobOutcome};
use crate::notify::{self, Event};
use crate::{Core, Error, kyc};

const NO_ADDRESS: &str = "no free address";
const NO_VMID: &str = "no free vmid";

/// Length of the generated first-login password (letters and digits: no shell or cloud-init
/// quoting surprises; 20 of 62 symbols is about 119 bits).
const PASSWORD_LEN: usize = 20;

/// Create steps one run may take in a row when none waits (a bound, should a module never
/// wait).
const MAX_STEPS_PER_RUN: usize = 8;

/// One step of the create (the service should be active and is pending or provisioning).
pub(super) async fn step(core: &Core, job: &ClaimedJob, s: &JobService) -> Result<JobOutcome, JobError> {
    let Some(upstream) = s.upstream.clone() else { return attention(core, s, NO_TARGET).await };
    let Some(provider) = core.upstreams.get(&upstream).cloned() else {
        return attention(core, s, &format!("upstream {upstream:?} is not configured")).await;
    };
    if s.state == "pending"
        && let Some(refused) = refusal(core, s).await?
    {
        return attention(core, s, refused).await;
    }
    let (vmid, ip) = if provider.capabilities().needs_reservations {
        match reservations(core, s, &upstream).await? {
            Ok((vmid, ip)) => (Some(vmid), Some(ip)),
            Err(why) => return attention(core, s, &why).await,
        }
    } else {
        (None, None)
    };
    let password_enc = match (s.state.as_str(), &s.password_enc) {
        ("provisioning", Some(sealed)) => sealed.clone(),
        ("pending", _) => start(core, s, &upstream, provider.as_ref()).await?,
        _ => return attention(core, s, "provisioning without a first-login password").await,
    };
    let password = core.keys.open_str(&password_enc, aad(&s.row_key())).map_err(Error::from)?;
    let request = CreateRequest {
        service_id: s.id,
        key: format!("svc-{}", s.id),
        hostname: server_name(s.id),
        vcpu: size(s.vcpu),
        memory_mb: size(s.memory_mb),
        disk_gb: size(s.disk_gb),
        bandwidth_mbps: size(s.bandwidth_mbps),
        os_image: s.os_image.clone(),
        target: s.target.clone().unwrap_or_default(),
        months: size(s.months),
        login: Login::Password(password.to_string()),
        vmid,
        ip: ip.clone(),
        customer_ref: s.account_id.clone(),
        real_name_verified: s.real_name_verified_at.is_some(),
    };
    let mut at: Checkpoint = match s.checkpoint.as_deref() {
        Some(json) => serde_json::from_str(json).map_err(|e| JobError::Permanent(format!("bad checkpoint: {e}")))?,
        None => Checkpoint::default(),
    };
    // Steps due at once run in this run, each checkpoint stored before the next call; a step
    // that waits (an upstream task) parks the job instead of holding the worker.
    let mut step = provider.create(&request, &at).await;
    for _ in 0..MAX_STEPS_PER_RUN {
        let Ok(CreateStep::Next { checkpoint, after }) = &step else { break };
        save_checkpoint(core, s.id, checkpoint).await?;
        if !after.is_zero() {
            return Ok(JobOutcome::ParkUntil(core.now().plus(*after)));
        }
        at = checkpoint.clone();
        step = provider.create(&request, &at).await;
    }
    match step {
        Ok(CreateStep::Next { checkpoint, after }) => {
            save_checkpoint(core, s.id, &checkpoint).await?;
            Ok(JobOutcome::ParkUntil(core.now().plus(after)))
        }
        Ok(CreateStep::Done(handle)) => {
            // Our pool's address, or the one the upstream (a reseller) assigned.
            let assigned = match &ip {
                Some(lease) => Some(lease.address.clone()),
                None => match provider.status(&handle).await {
                    Ok(status) => status.ips.into_iter().next(),
                    Err(e) => return failed(core, job, s, &upstream, &at, vmid, e).await,
                },
            };
            let now = core.now();
            let activated = Activated {
                remote_id: &handle.remote_id,
                node: handle.node.as_deref(),
                ip: assigned.as_deref(),
                expires_at: super::super::lifecycle::add_months(now, s.months)?,
            };
            let mut tx = core.db.begin().await?;
            if repo::activate(&mut tx, s.id, &activated, now).await?
                && let Some(customer) = s.customer_id
            {
                let args: notify::Args = [
                    ("service".to_string(), server_name(s.id)),
                    ("ip".to_string(), activated.ip.unwrap_or("-").to_string()),
                ]
                .into();
                notify::notify(&mut tx, core, Subject::customer(customer), Event::ServiceActive, args, now).await?;
            }
            tx.commit().await?;
            tracing::info!(service = s.id, upstream, remote_id = handle.remote_id, "service active");
            Ok(JobOutcome::Done)
        }
        Err(e) => failed(core, job, s, &upstream, &at, vmid, e).await,
    }
}

async fn save_checkpoint(core: &Core, id: i64, checkpoint: &Checkpoint) -> Result<(), JobError> {
    let json = serde_json::to_string(checkpoint).map_err(|e| JobError::Permanent(e.to_string()))?;
    let mut tx = core.db.begin().await?;
    repo::save_checkpoint(&mut tx, id, Some(&json)).await?;
    tx.commit().await?;
    tracing::info!(service = id, step = checkpoint.step, "provisioning step stored");
    Ok(())
}

impl JobService {
    /// `service:<id>`: the row in the AAD of its sealed password.
    fn row_key(&self) -> String {
        format!("service:{}", self.id)
    }
}

fn aad(row: &str) -> Aad<'_> {
    Aad { table: "services", column: "password_enc", row }
}

/// The service's vmid and address: those it holds from an earlier run (read with the service,
/// so a step costs no pool transaction), else reserved now. `Err(why)` when a pool is full or
/// the upstream is not configured.
async fn reservations(core: &Core, s: &JobService, upstream: &str) -> Result<Result<(u32, IpLease), String>, JobError> {
    let vmid = match s.held_vmid.and_then(|v| u32::try_from(v).ok()) {
        Some(held) => held,
        None => {
            let Some(range) = core.config.provisioning.upstreams.iter().find(|u| u.name == upstream) else {
                return Ok(Err(format!("upstream {upstream:?} is not configured")));
            };
            let reserved = pools::vmid(core, upstream, s.id, range.vmid_first, range.vmid_last).await?;
            let Some(vmid) = reserved else { return Ok(Err(NO_VMID.into())) };
            vmid
        }
    };
    let ip = match s.held_ip.clone().lease() {
        Some(held) => pools::lease(held),
        None => {
            let Some(ip) = pools::ip(core, upstream, s.id).await? else { return Ok(Err(NO_ADDRESS.into())) };
            ip
        }
    };
    Ok(Ok((vmid, ip)))
}

/// Plan sizes and months are small positive numbers (CHECKed); a wrong one reads as 0, which
/// the upstream refuses.
fn size(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// Why the customer may not have the server created now (C1.2), as staff read it; None: may.
async fn refusal(core: &Core, s: &JobService) -> Result<Option<&'static str>, JobError> {
    let Some(customer) = s.customer_id else { return Ok(Some("the customer's account is closed")) };
    match kyc::may_provision(core, customer, s.region_id).await {
        Ok(()) => Ok(None),
        Err(Error::Validation { code: "real-name-required", .. }) => Ok(Some("real-name")),
        Err(Error::Validation { code, .. }) => Ok(Some(code)),
        Err(Error::NotFound) => Ok(Some("the customer's account is closed")),
        Err(e) => Err(e.into()),
    }
}

/// pending → provisioning in one transaction with the disclosure row (before the first call
/// that sends anything) and the sealed first-login password; the sealed password.
async fn start(core: &Core, s: &JobService, upstream: &str, provider: &dyn Provider) -> Result<String, JobError> {
    let password = generate_password();
    let sealed = core.keys.seal_str(&password, aad(&s.row_key()));
    let now = core.now();
    let mut tx = core.db.begin().await?;
    if !repo::start(&mut tx, s.id, &sealed).await? {
        return Err(JobError::Retry(format!("service {} changed meanwhile", s.id)));
    }
    if let Some(customer) = s.customer_id {
        let d = Disclosure {
            recipient: Recipient::UpstreamProvider,
            recipient_name: upstream,
            fields: provider.disclosed_fields(),
            purpose: "provisioning",
            object: ("service", s.id.to_string()),
        };
        disclosures::disclose(&mut tx, Subject::customer(customer), d, now).await?;
    }
    tx.commit().await?;
    Ok(sealed)
}

fn generate_password() -> String {
    use rand::Rng;
    rand::rng().sample_iter(rand::distr::Alphanumeric).take(PASSWORD_LEN).map(char::from).collect()
}

/// A failed create step (§4.2): retryable classes back off through the jobs system (the
/// stored checkpoint makes the retry find what a lost call did); a foreign VM at our vmid
/// takes the next vmid; everything else waits for staff. On the last attempt a retryable
/// failure also waits for staff, with its text.
async fn failed(
    core: &Core,
    job: &ClaimedJob,
    s: &JobService,
    upstream: &str,
    at: &Checkpoint,
    vmid: Option<u32>,
    e: ProvError,
) -> Result<JobOutcome, JobError> {
    let text = e.to_string();
    tracing::warn!(service = s.id, upstream, step = at.step, error = %text, "provisioning step failed");
    // With our own vmids, a conflict before the VM is ours means the vmid is someone else's.
    if let (ProvError::Conflict(_), Some(vmid), "" | "clone") = (&e, vmid, at.step.as_str()) {
        pools::replace_foreign_vmid(core, upstream, s.id, vmid).await?;
        return Err(JobError::Retry(text));
    }
    if e.is_retryable() && job.attempt < i64::from(core.config.jobs.max_attempts) {
        return Err(JobError::Retry(text));
    }
    // Retried for about a day, or not worth retrying: staff look, with the last error.
    let mut tx = core.db.begin().await?;
    repo::needs_attention(&mut tx, s.id, &text).await?;
    alert_staff(&mut tx, core, s.id, &text).await?;
    tx.commit().await?;
    Err(JobError::Permanent(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_twenty_letters_and_digits() {
        let p = generate_password();
        assert_eq!(p.len(), PASSWORD_LEN);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(p, generate_password());
    }
}
