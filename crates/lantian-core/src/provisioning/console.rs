//! What staff with `ServicesManage` see and do: the services that are not where they should
//! be (failed, stuck, waiting for staff), one service in full, a retry, and an order to
//! suspend, resume or terminate a service with a reason. Every action is audited with its
//! reason; the job carries it out.

use serde::Serialize;
use sqlx::FromRow;

use super::job;
use super::repo::lifecycle as repo;
use super::repo::views;
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal};
use crate::billing::{CONSOLE_PAGE, checked_reason};
use crate::{Core, Error, RequestMeta, Result, UnixMs};

/// A service as staff see it: where it is, where it should be, and what went wrong.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct StaffService {
    pub id: i64,
    /// The billing pseudonym: staff look the customer up from there when they must.
    pub account_id: String,
    pub customer_id: Option<i64>,
    pub plan_id: i64,
    pub region_id: i64,
    pub upstream: Option<String>,
    pub target: Option<String>,
    pub state: String,
    pub desired: String,
    pub desired_reason: Option<String>,
    pub remote_id: Option<String>,
    pub node: Option<String>,
    pub ip: Option<String>,
    /// The create's checkpoint (JSON: step, remote id, operation).
    pub checkpoint: Option<String>,
    /// An operation in flight (JSON).
    pub op: Option<String>,
    pub power_request: Option<String>,
    /// The upstream's or our text; never personal data.
    pub last_error: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// The provisioning queue: services not where they should be, or waiting for staff, or whose
/// last action failed; newest first, a page before `before_id` (0: the first page).
pub async fn queue(core: &Core, who: &Principal, before_id: i64) -> Result<Vec<StaffService>> {
    who.require(Permission::ServicesManage)?;
    let before_id = if before_id <= 0 { i64::MAX } else { before_id };
    Ok(views::queue(&core.db, before_id, CONSOLE_PAGE).await?)
}

pub async fn service(core: &Core, who: &Principal, id: i64) -> Result<StaffService> {
    who.require(Permission::ServicesManage)?;
    views::staff_service(&core.db, id).await?.ok_or(Error::NotFound)
}

/// Runs the service's job again: a create waiting for staff resumes from its checkpoint, a
/// failed suspend or terminate is tried again.
pub async fn retry(core: &Core, who: &Principal, id: i64, reason: &str, meta: &RequestMeta, now: UnixMs) -> Result<()> {
    who.require(Permission::ServicesManage)?;
    let reason = checked_reason(reason)?;
    let mut tx = core.db.begin().await?;
    let generation = repo::bump_for_retry(&mut tx, id).await?.ok_or(Error::NotFound)?;
    job::enqueue(&mut tx, core, id, generation, now).await?;
    let ev = Event::new("service.retry").target("service", id).reason(reason);
    audit::record(&mut tx, who, meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Staff's order: the service should be `active`, `suspended` or `terminated`. It holds until
/// staff change it, whatever the lifecycle would do (a renewal paid lifts an order to keep an
/// overdue service running). Terminating this way skips the payment check.
pub async fn order(
    core: &Core,
    who: &Principal,
    id: i64,
    desired: &str,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<()> {
    who.require(Permission::ServicesManage)?;
    let reason = checked_reason(reason)?;
    let action = match desired {
        "active" => "service.resume",
        "suspended" => "service.suspend",
        "terminated" => "service.terminate",
        _ => return Err(Error::validation("desired", "service-action")),
    };
    let mut tx = core.db.begin().await?;
    let Some(generation) = repo::set_desired(&mut tx, id, desired, "staff").await? else {
        return Err(Error::validation("desired", "service-state"));
    };
    job::enqueue(&mut tx, core, id, generation, now).await?;
    audit::record(
        &mut tx,
        who,
        meta.request_id.as_deref(),
        Event::new(action).target("service", id).reason(reason),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
