//! The public catalog of the API: the plans on sale, their prices and where they are in stock.

use axum::Json;
use axum::extract::State;
use lantian_core::catalog::{self, Offer, Region};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::WebError;

#[derive(Serialize, ToSchema)]
pub struct PriceOut {
    /// `monthly`, `quarterly`, `semiannual` or `annual`: the `cycle` of an order.
    cycle: &'static str,
    /// The price of the whole cycle, in fen (1 yuan = 100 fen).
    price_fen: i64,
}

#[derive(Serialize, ToSchema)]
pub struct StockOut {
    region_id: i64,
    region_code: String,
    /// Ordering here requires real-name verification (mainland China).
    real_name_required: bool,
    /// Servers still available.
    available: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PlanOut {
    id: i64,
    code: String,
    name_zh: String,
    name_en: String,
    vcpu: i64,
    memory_mb: i64,
    disk_gb: i64,
    bandwidth_mbps: i64,
    /// Monthly traffic; 0 means unmetered.
    traffic_gb: i64,
    /// The `os_image` values an order may choose.
    os_images: Vec<String>,
    prices: Vec<PriceOut>,
    /// The regions where it is in stock.
    regions: Vec<StockOut>,
}

#[derive(Serialize, ToSchema)]
pub struct PlanList {
    items: Vec<PlanOut>,
}

fn plan_out(o: Offer, regions: &[Region]) -> PlanOut {
    let regions = regions
        .iter()
        .filter(|r| o.available_in(r.id) > 0)
        .map(|r| StockOut {
            region_id: r.id,
            region_code: r.code.clone(),
            real_name_required: r.real_name_required,
            available: o.available_in(r.id),
        })
        .collect();
    let prices = o.prices.iter().map(|(c, fen)| PriceOut { cycle: c.as_str(), price_fen: *fen }).collect();
    let p = o.plan;
    PlanOut {
        os_images: p.images().map(str::to_string).collect(),
        id: p.id,
        code: p.code,
        name_zh: p.name_zh,
        name_en: p.name_en,
        vcpu: p.vcpu,
        memory_mb: p.memory_mb,
        disk_gb: p.disk_gb,
        bandwidth_mbps: p.bandwidth_mbps,
        traffic_gb: p.traffic_gb,
        prices,
        regions,
    }
}

/// The plans on sale, as the shop shows them (no token needed). The catalog is small, so it
/// comes in one answer.
#[utoipa::path(
    get,
    path = "/api/v1/catalog/plans",
    responses((status = 200, description = "Every plan on sale", body = PlanList)),
    tag = "catalog"
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<PlanList>, WebError> {
    // The shop's region list: the first 100 active regions, as many as a page may hold.
    let regions = catalog::list_regions(&state.core.db, 0, 100).await?;
    let offers = catalog::plans::offers(&state.core.db, true).await?;
    // A plan without any price cannot be ordered, so the shop does not show it.
    let items = offers.into_iter().filter(|o| !o.prices.is_empty()).map(|o| plan_out(o, &regions)).collect();
    Ok(Json(PlanList { items }))
}
