//! Our own pools of vmids and addresses per upstream (Proxmox hands out neither safely:
//! `/cluster/nextid` gives parallel creates the same id). Each reservation is a row guarded by
//! a unique constraint, taken in its own short transaction and kept by the service, so a job
//! run again gets the same vmid and address back.

use super::repo::{self, Lease};
use crate::provisioning::provider::IpLease;
use crate::{Core, Result};

/// Tries before giving up on a pool that other services keep taking from under us.
const RACES: usize = 20;

/// The service's vmid at `upstream`: the one it holds, or the lowest free in `first..=last`.
/// None when the range is full.
pub async fn vmid(core: &Core, upstream: &str, service_id: i64, first: u32, last: u32) -> Result<Option<u32>> {
    for _ in 0..RACES {
        let mut tx = core.db.begin().await?;
        if let Some(held) = repo::vmid_of(&mut tx, upstream, service_id).await? {
            return Ok(u32::try_from(held).ok());
        }
        repo::lock_vmid_pool(&mut tx, upstream).await?;
        let Some(free) = repo::lowest_free_vmid(&mut tx, upstream, i64::from(first), i64::from(last)).await? else {
            return Ok(None);
        };
        // Another service may take the same vmid first: the primary key refuses ours, try again.
        if repo::insert_vmid(&mut tx, upstream, free, service_id).await? {
            tx.commit().await?;
            return Ok(u32::try_from(free).ok());
        }
    }
    Err(crate::Error::Conflict("vmid-pool-contended"))
}

/// A VM that is not ours sits at the service's vmid: the service gives the vmid up for good
/// (the row stays, held by nobody, so no one is handed it again) and begins its create anew
/// with the next one. Its checkpoint named the old vmid, so it is cleared in the same
/// transaction.
pub async fn replace_foreign_vmid(core: &Core, upstream: &str, service_id: i64, vmid: u32) -> Result<()> {
    let mut tx = core.db.begin().await?;
    repo::disown_vmid(&mut tx, upstream, i64::from(vmid), service_id).await?;
    repo::save_checkpoint(&mut tx, service_id, None).await?;
    tx.commit().await?;
    tracing::warn!(
        service = service_id,
        upstream,
        vmid,
        "a VM that is not ours holds the reserved vmid; taking another"
    );
    Ok(())
}

/// The service's address at `upstream`: the one it holds, or a free one. None when the pool has
/// no free address.
pub async fn ip(core: &Core, upstream: &str, service_id: i64) -> Result<Option<IpLease>> {
    for _ in 0..RACES {
        let mut tx = core.db.begin().await?;
        if let Some(held) = repo::ip_of(&mut tx, service_id).await? {
            return Ok(Some(lease(held)));
        }
        if repo::free_ips(&mut tx, upstream).await? == 0 {
            return Ok(None);
        }
        // None here: another service took the chosen address meanwhile; try again.
        if let Some(taken) = repo::take_ip(&mut tx, upstream, service_id).await? {
            tx.commit().await?;
            return Ok(Some(lease(taken)));
        }
    }
    Err(crate::Error::Conflict("ip-pool-contended"))
}

pub(super) fn lease(l: Lease) -> IpLease {
    IpLease { address: l.address, prefix_len: u8::try_from(l.prefix_len).unwrap_or(32), gateway: l.gateway }
}
