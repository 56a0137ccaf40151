use axum::Json;
use axum::extract::{Query, State};
use lantian_core::catalog;
use serde::Serialize;
use utoipa::ToSchema;

use super::PageQuery;
use crate::AppState;
use crate::error::WebError;

/// A data-centre region customers can order servers in.
#[derive(Serialize, ToSchema)]
pub struct RegionOut {
    id: i64,
    /// Stable short name, e.g. `hk-tko`.
    code: String,
    name_zh: String,
    name_en: String,
    /// Ordering here requires real-name verification (mainland China).
    real_name_required: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RegionPage {
    items: Vec<RegionOut>,
    /// Pass as `after` to get the next page; null on the last page.
    next_after: Option<i64>,
}

/// The regions open for orders.
#[utoipa::path(
    get,
    path = "/api/v1/regions",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of regions", body = RegionPage),
        (status = 422, description = "A paging parameter is out of range", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "catalog"
)]
pub async fn list(State(state): State<AppState>, Query(q): Query<PageQuery>) -> Result<Json<RegionPage>, WebError> {
    let (after, limit) = q.checked()?;
    let rows = catalog::list_regions(&state.core.db, after, limit).await?;
    let next_after = if rows.len() as i64 == limit { rows.last().map(|r| r.id) } else { None };
    let items = rows
        .into_iter()
        .map(|r| RegionOut {
            id: r.id,
            code: r.code,
            name_zh: r.name_zh,
            name_en: r.name_en,
            real_name_required: r.real_name_required,
        })
        .collect();
    Ok(Json(RegionPage { items, next_after }))
}
