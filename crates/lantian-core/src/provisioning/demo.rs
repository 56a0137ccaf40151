//! Demo data for provisioning: plans' targets and an address pool on the demo's upstream.

use super::repo;
use crate::{Core, Result};

/// The demo's (and the tests') upstream: the Proxmox fake, as `lantian_web::demo` configures it.
pub const DEMO_UPSTREAM: &str = "pve-hk";
/// The Proxmox fake's cloud-init template.
pub const DEMO_TEMPLATE: &str = "9000";
/// The documentation network (RFC 5737): addresses that route nowhere.
const DEMO_ADDRESSES: std::ops::RangeInclusive<u8> = 10..=29;

/// Demo data: every plan in Hong Kong (`hk-tko`) is made on [`DEMO_UPSTREAM`] from
/// [`DEMO_TEMPLATE`], with 20 addresses `203.0.113.10`–`29`/24. Adds only what is missing.
pub async fn seed_demo_targets(core: &Core) -> Result<()> {
    let mut tx = core.db.begin().await?;
    repo::target_all_plans(&mut tx, "hk-tko", DEMO_UPSTREAM, DEMO_TEMPLATE).await?;
    for n in DEMO_ADDRESSES {
        repo::add_ip(&mut tx, &format!("203.0.113.{n}"), DEMO_UPSTREAM, 24, "203.0.113.1").await?;
    }
    tx.commit().await?;
    Ok(())
}
