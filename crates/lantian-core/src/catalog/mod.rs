//! The catalog: regions, and the plans sold in them (`plans`).

pub mod plans;
pub(crate) mod repo;

use serde::Serialize;

pub use repo::Region;

use crate::db::Db;
use crate::{Core, Result, UnixMs};

pub use plans::{Cycle, Offer, Plan, PlanInput};

/// An active region by id.
pub async fn region(db: &Db, id: i64) -> Result<Region> {
    repo::find_region(db, id).await?.ok_or(crate::Error::NotFound)
}

/// A page of active regions after `after_id` (keyset pagination: stable under inserts).
pub async fn list_regions(db: &Db, after_id: i64, limit: i64) -> Result<Vec<Region>> {
    Ok(repo::list_active(db, after_id, limit.clamp(1, 100)).await?)
}

#[derive(Debug, Clone, Serialize)]
pub struct SeedRegion {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub real_name_required: bool,
}

/// The regions a new installation starts with: Hong Kong (no real-name check) and the
/// mainland cities (real-name verification required by law).
pub const STARTER_REGIONS: [SeedRegion; 5] = [
    SeedRegion {
        code: "hk-tko",
        name_zh: "香港 将军澳",
        name_en: "Hong Kong (Tseung Kwan O)",
        real_name_required: false,
    },
    SeedRegion {
        code: "hk-kwc", name_zh: "香港 葵涌", name_en: "Hong Kong (Kwai Chung)", real_name_required: false
    },
    SeedRegion { code: "cn-sh", name_zh: "上海", name_en: "Shanghai", real_name_required: true },
    SeedRegion { code: "cn-gz", name_zh: "广州", name_en: "Guangzhou", real_name_required: true },
    SeedRegion { code: "cn-bj", name_zh: "北京", name_en: "Beijing", real_name_required: true },
];

/// Inserts the starter regions that are missing; safe to run on every demo start.
pub async fn seed_starter_regions(core: &Core, now: UnixMs) -> Result<usize> {
    let mut tx = core.db.begin().await?;
    let mut added = 0;
    for (i, r) in STARTER_REGIONS.iter().enumerate() {
        if repo::insert_if_missing(&mut tx, r, i64::try_from(i).unwrap_or(0) * 10, now).await? {
            added += 1;
        }
    }
    tx.commit().await?;
    Ok(added)
}
