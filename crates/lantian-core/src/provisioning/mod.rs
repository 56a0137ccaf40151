//! Provisioning: servers created, changed and removed at upstream providers for paid services.
//!
//! A paid invoice's server orders become services ([`on_paid`], in the payment's transaction)
//! with a `provision` job each ([`job`]), which creates the server at the upstream its plan has
//! in its region (`plan_targets`), one checkpointed step per run. A paid renewal extends its
//! service and brings it back if it was suspended. The [`lifecycle`] task issues renewal
//! invoices, reminds, and marks overdue services to be suspended and then terminated; the same
//! job carries those out, and the customer's power actions ([`portal`]). Staff see the services
//! that are not where they should be, and act on them ([`console`]). The upstream modules are
//! built once from `[provisioning]` into [`Core::upstreams`](crate::Core).

pub mod console;
mod demo;
mod job;
pub mod lifecycle;
mod pools;
pub mod portal;
pub mod provider;
pub mod reconcile;
mod repo;
mod upstreams;

pub use demo::{DEMO_TEMPLATE, DEMO_UPSTREAM, seed_demo_targets};
pub use job::{PROVISION, Provision, ProvisionPayload};
pub use upstreams::{Upstreams, upstreams_from_config};

pub use portal::{Service, service_of, services_of};

use crate::db::Tx;
use crate::{Core, Result, UnixMs};
use repo::lifecycle as lifecycle_repo;

/// In the transaction that marks the invoice paid: a service per new server order of it, and
/// its `provision` job (the outbox: both or neither); a plan without a target in the region
/// waits for staff instead. Each renewal (`renews`: the invoice has some) extends its service.
/// Runs once per invoice (the invoice is marked paid once), and a second run would change
/// nothing for new orders (one service per order).
pub async fn on_paid(tx: &mut Tx, core: &Core, invoice_id: i64, renews: bool, now: UnixMs) -> Result<()> {
    let created = repo::insert_services(tx, invoice_id, job::NO_TARGET, now).await?;
    let to_create: Vec<(i64, i64)> = created.iter().filter(|s| s.state == "pending").map(|s| (s.id, 0)).collect();
    job::enqueue_all(tx, core, &to_create, now).await?;
    if renews {
        for renewal in lifecycle_repo::paid_renewals(tx, invoice_id).await? {
            renewed(tx, core, &renewal, now).await?;
        }
    }
    Ok(())
}

/// A paid renewal: the service runs `months` longer from its current expiry, and should be what
/// the new expiry says (active, normally), unless a closure or staff ordered it suspended or
/// terminated. An upstream that bills (a reseller) is owed the months, which the job pays. Staff's order to keep an overdue service running has served its purpose: the
/// lifecycle watches the service again.
async fn renewed(tx: &mut Tx, core: &Core, r: &lifecycle_repo::PaidRenewal, now: UnixMs) -> Result<()> {
    let Some(expires_at) = r.expires_at.filter(|_| r.state != "terminated") else {
        // Terminating cancels the unpaid renewals first, so this is not expected; staff see the
        // paid invoice and refund it.
        tracing::warn!(service = r.service_id, "a renewal was paid for a service without a running period");
        return Ok(());
    };
    let until = lifecycle::add_months(expires_at, r.months)?;
    lifecycle_repo::extend(tx, r.service_id, until).await?;
    let mut generation = None;
    let upstream_bills =
        r.upstream.as_deref().and_then(|u| core.upstreams.get(u)).is_some_and(|p| p.capabilities().renew_upstream);
    if upstream_bills {
        generation = Some(lifecycle_repo::owe_upstream(tx, r.service_id, r.months).await?);
    }
    let should_be = lifecycle::due_state(until, now, &core.config.lifecycle);
    let reason = r.desired_reason.as_deref();
    let held = reason == Some("closure") || (reason == Some("staff") && r.desired != "active");
    if !held && (should_be != r.desired || reason == Some("staff")) {
        generation = lifecycle_repo::set_desired(tx, r.service_id, should_be, "paid").await?.or(generation);
    }
    if let Some(generation) = generation {
        job::enqueue(tx, core, r.service_id, generation, now).await?;
    }
    Ok(())
}
