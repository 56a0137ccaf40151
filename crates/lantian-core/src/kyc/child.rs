//! "Child found" (C7.2, ARCHITECTURE §5): an account that belongs to a child under 16 is closed
//! and its personal data deleted at once. Billing's pseudonymous records stay, as for any
//! closed account; the audit row names only the account's id.

use crate::accounts;
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal};
use crate::billing::checked_reason;
use crate::{Core, Error, RequestMeta, Result, UnixMs};

/// Closes the account: by the system when a submitted number shows an age under 16, or by
/// compliance staff for an account reported to belong to a child (with their reason).
pub async fn close(
    core: &Core,
    who: &Principal,
    customer_id: i64,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<()> {
    if let Principal::Staff { .. } = who {
        who.require(Permission::ComplianceManage)?;
    }
    let reason = checked_reason(reason)?;
    let mut tx = core.db.begin().await?;
    // The related rows go first; with no such customer the transaction is dropped, undone.
    if !accounts::repo::delete_customer(&mut tx, customer_id).await? {
        return Err(Error::NotFound);
    }
    let ev = Event::new("kyc.child_found").target("customer", customer_id).reason(reason);
    audit::record(&mut tx, who, meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    core.db.checkpoint_after_erasure().await?;
    Ok(())
}
