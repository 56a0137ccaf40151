//! The audited reveal: personal values are masked everywhere; a staff member sees one in full
//! only by giving a reason, and that act is written to the audit trail (who, whose, which
//! field, why) in the same transaction that releases the value.

use std::future::Future;

use crate::audit::{self, Event};
use crate::authz::{Permission, Principal};
use crate::{Core, Error, RequestMeta, Result, UnixMs};

pub const REASON_MIN: usize = 5;
pub const REASON_MAX: usize = 200;

/// Runs `fetch` for the plain value of `field` of `target` if `who` may reveal and gave a
/// reason; records the reveal first.
#[allow(clippy::too_many_arguments)]
pub async fn reveal(
    core: &Core,
    who: &Principal,
    target: (&str, String),
    field: &'static str,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
    fetch: impl Future<Output = Result<String>>,
) -> Result<String> {
    who.require(Permission::RevealPersonalData)?;
    let reason = reason.trim();
    let len = reason.chars().count();
    if !(REASON_MIN..=REASON_MAX).contains(&len) {
        return Err(Error::validation("reason", "reveal-reason"));
    }
    let value = fetch.await?;
    let mut tx = core.db.begin().await?;
    let fields = [field];
    let ev = Event::new("personal_data.reveal").target(target.0, target.1).fields(&fields).reason(reason);
    audit::record(&mut tx, who, meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    Ok(value)
}
