//! Provisioning: servers created, changed and removed at upstream providers for paid services.
//!
//! A paid invoice's server orders become services ([`on_paid`], in the payment's transaction)
//! with a `provision` job each ([`job`]), which creates the server at the upstream its plan has
//! in its region (`plan_targets`), one checkpointed step per run. The upstream modules are
//! built once from `[provisioning]` into [`Core::upstreams`](crate::Core).

mod demo;
mod job;
mod pools;
pub mod provider;
mod repo;
mod upstreams;

use serde::Serialize;
use sqlx::FromRow;

pub use demo::{DEMO_TEMPLATE, DEMO_UPSTREAM, seed_demo_targets};
pub use job::{PROVISION, Provision, ProvisionPayload};
pub use upstreams::{Upstreams, upstreams_from_config};

use crate::db::Tx;
use crate::jobs::{self, NewJob};
use crate::{Core, Error, Result, UnixMs};

/// A customer's server as the portal shows it.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Service {
    pub id: i64,
    pub order_id: i64,
    pub plan_id: i64,
    pub region_id: i64,
    pub os_image: String,
    pub months: i64,
    /// `pending`, `provisioning`, `active`, `suspended`, `terminated` or `needs_attention`.
    pub state: String,
    pub desired: String,
    pub ip: Option<String>,
    pub created_at: UnixMs,
    pub activated_at: Option<UnixMs>,
    pub expires_at: Option<UnixMs>,
}

/// In the transaction that marks the invoice paid: a service per server order of it, and its
/// `provision` job (the outbox: both or neither). A plan without a target in the region waits
/// for staff instead. Running twice for one invoice changes nothing (one service per order,
/// one job per service).
pub async fn on_paid(tx: &mut Tx, core: &Core, invoice_id: i64, now: UnixMs) -> Result<()> {
    for order in repo::paid_new_orders(tx, invoice_id).await? {
        let has_target = order.upstream.is_some() && order.target.is_some();
        let (state, why) = if has_target { ("pending", None) } else { ("needs_attention", Some(job::NO_TARGET)) };
        let Some(id) = repo::insert_service(tx, &order, state, why, now).await? else { continue };
        if has_target {
            let job =
                NewJob::new(PROVISION, &ProvisionPayload { service_id: id }, now)?.dedupe(format!("service:{id}"));
            jobs::enqueue(tx, core, job, now).await?;
        }
    }
    Ok(())
}

/// The customer's services, newest first.
pub async fn services_of(core: &Core, customer_id: i64) -> Result<Vec<Service>> {
    Ok(repo::services_of(&core.db, customer_id).await?)
}

/// One of the customer's services; another customer's is NotFound.
pub async fn service_of(core: &Core, customer_id: i64, id: i64) -> Result<Service> {
    repo::service_of(&core.db, customer_id, id).await?.ok_or(Error::NotFound)
}
