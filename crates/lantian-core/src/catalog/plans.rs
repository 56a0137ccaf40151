//! Plans (the server sizes sold), their price per billing cycle in fen, and stock per plan and
//! region. Customers browse the active ones; staff with `CatalogManage` edit them.

use serde::{Deserialize, Serialize};

use super::repo;
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal};
use crate::db::Db;
use crate::i18n::Lang;
use crate::{Core, Error, Result, UnixMs};

/// The billing cycles a price can be given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cycle {
    Monthly,
    Quarterly,
    Semiannual,
    Annual,
}

impl Cycle {
    pub const ALL: [Cycle; 4] = [Cycle::Monthly, Cycle::Quarterly, Cycle::Semiannual, Cycle::Annual];

    pub fn months(self) -> i64 {
        match self {
            Cycle::Monthly => 1,
            Cycle::Quarterly => 3,
            Cycle::Semiannual => 6,
            Cycle::Annual => 12,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cycle::Monthly => "monthly",
            Cycle::Quarterly => "quarterly",
            Cycle::Semiannual => "semiannual",
            Cycle::Annual => "annual",
        }
    }

    pub fn parse(s: &str) -> Option<Cycle> {
        Cycle::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

pub use repo::Plan;

impl Plan {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::ZhCn => &self.name_zh,
            Lang::En => &self.name_en,
        }
    }

    pub fn images(&self) -> impl Iterator<Item = &str> {
        self.os_images.split(',').filter(|s| !s.is_empty())
    }
}

/// A plan as the shop shows it: its prices and where it is in stock.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    pub plan: Plan,
    pub prices: Vec<(Cycle, i64)>,
    /// (region id, servers still available)
    pub stock: Vec<(i64, i64)>,
}

impl Offer {
    pub fn price(&self, cycle: Cycle) -> Option<i64> {
        self.prices.iter().find(|(c, _)| *c == cycle).map(|(_, p)| *p)
    }

    pub fn available_in(&self, region_id: i64) -> i64 {
        self.stock.iter().find(|(r, _)| *r == region_id).map_or(0, |(_, n)| *n)
    }
}

/// Every plan with its prices and stock, in three queries whatever the catalog's size.
/// `only_active` for the shop; the console sees all.
pub async fn offers(db: &Db, only_active: bool) -> Result<Vec<Offer>> {
    let plans = repo::list_plans(db, only_active).await?;
    let prices = repo::list_prices(db).await?;
    let stock = repo::list_stock(db).await?;
    Ok(plans
        .into_iter()
        .map(|plan| {
            let prices = prices
                .iter()
                .filter(|p| p.plan_id == plan.id)
                .filter_map(|p| Cycle::parse(&p.cycle).map(|c| (c, p.price_fen)))
                .collect();
            let stock = stock.iter().filter(|s| s.plan_id == plan.id).map(|s| (s.region_id, s.available)).collect();
            Offer { plan, prices, stock }
        })
        .collect())
}

pub async fn offer(db: &Db, plan_id: i64) -> Result<Offer> {
    offers(db, false).await?.into_iter().find(|o| o.plan.id == plan_id).ok_or(Error::NotFound)
}

/// A plan as staff enter it.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub vcpu: i64,
    pub memory_mb: i64,
    pub disk_gb: i64,
    pub bandwidth_mbps: i64,
    pub traffic_gb: i64,
    pub os_images: Vec<String>,
    pub sort_order: i64,
    pub active: bool,
}

fn is_code(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_'))
}

fn is_label(s: &str) -> bool {
    let n = s.chars().count();
    (1..=64).contains(&n) && !s.chars().any(char::is_control)
}

impl PlanInput {
    fn check(&self) -> Result<()> {
        let v = Error::validation;
        if !is_code(&self.code, 32) {
            return Err(v("code", "plan-code"));
        }
        if !is_label(self.name_zh.trim()) || !is_label(self.name_en.trim()) {
            return Err(v("name", "plan-name"));
        }
        let sizes = [
            (self.vcpu, 1, 256, "vcpu"),
            (self.memory_mb, 128, 4_194_304, "memory_mb"),
            (self.disk_gb, 1, 1_048_576, "disk_gb"),
            (self.bandwidth_mbps, 1, 1_000_000, "bandwidth_mbps"),
            (self.traffic_gb, 0, 1_048_576, "traffic_gb"),
        ];
        if let Some((_, _, _, field)) = sizes.iter().find(|(n, lo, hi, _)| !(lo..=hi).contains(&n)) {
            return Err(v(field, "plan-size"));
        }
        if self.os_images.is_empty() || self.os_images.len() > 20 || !self.os_images.iter().all(|i| is_code(i, 32)) {
            return Err(v("os_images", "plan-images"));
        }
        Ok(())
    }
}

/// Creates the plan, or updates the one with the same code; returns its id.
pub async fn save_plan(core: &Core, who: &Principal, input: &PlanInput, now: UnixMs) -> Result<i64> {
    who.require(Permission::CatalogManage)?;
    input.check()?;
    let mut tx = core.db.begin().await?;
    let id = repo::upsert_plan(&mut tx, input, now).await?;
    audit::record(&mut tx, who, None, Event::new("catalog.plan_save").target("plan", id), now).await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets the price of one cycle (`None` withdraws it).
pub async fn set_price(
    core: &Core,
    who: &Principal,
    plan_id: i64,
    cycle: Cycle,
    price_fen: Option<i64>,
    now: UnixMs,
) -> Result<()> {
    who.require(Permission::CatalogManage)?;
    if price_fen.is_some_and(|p| !(1..=10_000_000_000).contains(&p)) {
        return Err(Error::validation("price", "price"));
    }
    // An unknown plan is "not found", not a foreign-key failure.
    offer(&core.db, plan_id).await?;
    let mut tx = core.db.begin().await?;
    repo::set_price(&mut tx, plan_id, cycle.as_str(), price_fen).await?;
    let ev = Event::new("catalog.price_set").target("plan", plan_id).fields(&["price_fen"]);
    audit::record(&mut tx, who, None, ev, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_stock(
    core: &Core,
    who: &Principal,
    plan_id: i64,
    region_id: i64,
    available: i64,
    now: UnixMs,
) -> Result<()> {
    who.require(Permission::CatalogManage)?;
    if !(0..=1_000_000).contains(&available) {
        return Err(Error::validation("available", "stock"));
    }
    offer(&core.db, plan_id).await?;
    super::region(&core.db, region_id).await.map_err(|_| Error::validation("region", "region"))?;
    let mut tx = core.db.begin().await?;
    repo::set_stock(&mut tx, plan_id, region_id, available).await?;
    let ev = Event::new("catalog.stock_set").target("plan", plan_id).fields(&["available"]);
    audit::record(&mut tx, who, None, ev, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A starter plan: code, names, [vCPU, memory MB, disk GB, bandwidth Mbps, traffic GB], and
/// the price in fen of each cycle of `Cycle::ALL`.
type Starter = (&'static str, &'static str, &'static str, [i64; 5], [i64; 4]);

const STARTER_PLANS: [Starter; 3] = [
    ("s1", "入门型 1核1G", "Starter 1 vCPU 1 GB", [1, 1024, 25, 30, 500], [2900, 8200, 15_900, 29_900]),
    ("s2", "标准型 2核4G", "Standard 2 vCPU 4 GB", [2, 4096, 60, 50, 1000], [6900, 19_600, 37_900, 69_900]),
    ("p4", "性能型 4核8G", "Performance 4 vCPU 8 GB", [4, 8192, 120, 100, 0], [15_900, 45_300, 87_400, 159_900]),
];

/// Plans a new installation (and the demo) starts with, in stock in every active region.
pub async fn seed_starter_plans(core: &Core, now: UnixMs) -> Result<usize> {
    let mut tx = core.db.begin().await?;
    let regions = repo::active_region_ids(&mut tx).await?;
    let mut added = 0;
    for (i, (code, zh, en, [vcpu, mem, disk, bw, traffic], prices)) in STARTER_PLANS.into_iter().enumerate() {
        let input = PlanInput {
            code: code.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            vcpu,
            memory_mb: mem,
            disk_gb: disk,
            bandwidth_mbps: bw,
            traffic_gb: traffic,
            os_images: ["debian-12", "ubuntu-24.04", "rocky-9", "windows-2022"].map(String::from).to_vec(),
            sort_order: i64::try_from(i).unwrap_or(0) * 10,
            active: true,
        };
        let Some(id) = repo::insert_plan_if_missing(&mut tx, &input, now).await? else { continue };
        for (cycle, price) in Cycle::ALL.into_iter().zip(prices) {
            repo::set_price(&mut tx, id, cycle.as_str(), Some(price)).await?;
        }
        for region in &regions {
            repo::set_stock(&mut tx, id, *region, 50).await?;
        }
        added += 1;
    }
    tx.commit().await?;
    Ok(added)
}
