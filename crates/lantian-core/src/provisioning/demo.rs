//! Demo data for provisioning: plans' targets and an address pool on the demo's upstreams.

use super::repo;
use crate::{Core, Result};

/// The demo's (and the tests') upstream: the Proxmox fake, as `lantian_web::demo` configures it.
pub const DEMO_UPSTREAM: &str = "pve-hk";
/// The Proxmox fake's cloud-init template.
pub const DEMO_TEMPLATE: &str = "9000";
/// The documentation network (RFC 5737): addresses that route nowhere.
const DEMO_ADDRESSES: std::ops::RangeInclusive<u8> = 10..=29;
/// The mainland region whose servers the demo buys from a 魔方 V10 upstream (Shanghai).
const RESELLER_REGION: &str = "cn-sh";
/// The ZJMF fake's product 101 (30 yuan a month): the upstream takes every size the plan
/// sends as its options, so one product serves every plan.
const RESELLER_PRODUCT: &str = "101";

/// Demo data: every plan in Hong Kong (`hk-tko`) is made on [`DEMO_UPSTREAM`] from
/// [`DEMO_TEMPLATE`], with 20 addresses `203.0.113.10`–`29`/24; and when a `zjmf` upstream is
/// configured (the demo's ZJMF fake), every plan in Shanghai is bought there. Adds only what
/// is missing.
pub async fn seed_demo_targets(core: &Core) -> Result<()> {
    let mut tx = core.db.begin().await?;
    repo::target_all_plans(&mut tx, "hk-tko", DEMO_UPSTREAM, DEMO_TEMPLATE).await?;
    for n in DEMO_ADDRESSES {
        repo::add_ip(&mut tx, &format!("203.0.113.{n}"), DEMO_UPSTREAM, 24, "203.0.113.1").await?;
    }
    if let Some(reseller) = core.config.provisioning.upstreams.iter().find(|u| u.zjmf_settings().is_some()) {
        target_mainland_at_reseller(&mut tx, &reseller.name).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every plan in [`RESELLER_REGION`] is bought at `upstream` as [`RESELLER_PRODUCT`] (for a
/// reseller, a plan's target is the upstream's product id). The upstream assigns the address.
async fn target_mainland_at_reseller(tx: &mut crate::db::Tx, upstream: &str) -> Result<()> {
    repo::target_all_plans(tx, RESELLER_REGION, upstream, RESELLER_PRODUCT).await?;
    Ok(())
}
