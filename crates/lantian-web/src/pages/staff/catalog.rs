//! The console's catalog (`CatalogManage`): the plans with their price per cycle and stock per
//! region, the plan form (a new code creates a plan, an existing one edits it), the price and
//! stock forms of each plan, and new coupons.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::Error;
use lantian_core::authz::Permission;
use lantian_core::billing::{self, CouponInput};
use lantian_core::catalog::{self, Cycle, Offer, PlanInput, plans};
use lantian_core::i18n::{Lang, Tr};
use serde::Deserialize;

use super::audit::day_start;
use super::billing::{fen, refusal};
use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::billing::yuan;
use crate::pages::{Layout, refused, render};

/// A whole number typed into a form, refused with `code` when it is not one.
fn number(typed: &str, field: &'static str, code: &'static str) -> Result<i64, Error> {
    typed.trim().parse().map_err(|_| Error::validation(field, code))
}

/// The plan form, as typed (kept when it is refused, filled in to edit a plan).
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PlanForm {
    code: String,
    name_zh: String,
    name_en: String,
    vcpu: String,
    memory_mb: String,
    disk_gb: String,
    bandwidth_mbps: String,
    traffic_gb: String,
    /// Comma-separated image codes.
    os_images: String,
    sort_order: String,
    /// A checkbox: present when ticked.
    active: Option<String>,
    csrf: String,
}

impl PlanForm {
    fn of(p: &plans::Plan) -> PlanForm {
        PlanForm {
            code: p.code.clone(),
            name_zh: p.name_zh.clone(),
            name_en: p.name_en.clone(),
            vcpu: p.vcpu.to_string(),
            memory_mb: p.memory_mb.to_string(),
            disk_gb: p.disk_gb.to_string(),
            bandwidth_mbps: p.bandwidth_mbps.to_string(),
            traffic_gb: p.traffic_gb.to_string(),
            os_images: p.os_images.clone(),
            sort_order: p.sort_order.to_string(),
            active: p.active.then(|| "on".to_string()),
            csrf: String::new(),
        }
    }

    /// An empty form for a new plan: active, first in the list.
    fn blank() -> PlanForm {
        PlanForm { sort_order: "0".into(), active: Some("on".into()), ..PlanForm::default() }
    }

    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// The sizes are checked by the core; here only that they are numbers.
    fn input(&self) -> Result<PlanInput, Error> {
        let size = |typed: &str, field| number(typed, field, "plan-size");
        Ok(PlanInput {
            code: self.code.trim().to_ascii_lowercase(),
            name_zh: self.name_zh.clone(),
            name_en: self.name_en.clone(),
            vcpu: size(&self.vcpu, "vcpu")?,
            memory_mb: size(&self.memory_mb, "memory_mb")?,
            disk_gb: size(&self.disk_gb, "disk_gb")?,
            bandwidth_mbps: size(&self.bandwidth_mbps, "bandwidth_mbps")?,
            traffic_gb: size(&self.traffic_gb, "traffic_gb")?,
            os_images: self.os_images.split(',').map(str::trim).filter(|i| !i.is_empty()).map(String::from).collect(),
            sort_order: number(&self.sort_order, "sort_order", "sort-order")?,
            active: self.is_active(),
        })
    }
}

/// The coupon form, as typed.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CouponForm {
    code: String,
    /// `percent` or `fixed`.
    kind: String,
    /// A percentage, or yuan for a fixed discount.
    value: String,
    /// `YYYY-MM-DD` in the business time zone.
    valid_from: String,
    /// `YYYY-MM-DD`, inclusive: the coupon works until that day ends.
    valid_until: String,
    /// Empty for no limit.
    max_uses: String,
    per_account: String,
    csrf: String,
}

impl CouponForm {
    fn blank() -> CouponForm {
        CouponForm { kind: "percent".into(), per_account: "1".into(), ..CouponForm::default() }
    }

    fn input(&self, tz: &str) -> Result<CouponInput, Error> {
        let value = match self.kind.as_str() {
            "percent" => number(&self.value, "value", "coupon-value")?,
            "fixed" => fen(&self.value, false)?,
            _ => return Err(Error::validation("kind", "coupon-value")),
        };
        let day = |typed: &str, field| day_start(tz, typed, field)?.ok_or(Error::validation(field, "date"));
        let until = day(&self.valid_until, "valid_until")?.plus(std::time::Duration::from_secs(86_400));
        let max_uses = match self.max_uses.trim() {
            "" => None,
            typed => Some(number(typed, "max_uses", "coupon-limits")?),
        };
        Ok(CouponInput {
            code: self.code.clone(),
            kind: self.kind.clone(),
            value,
            valid_from: day(&self.valid_from, "valid_from")?,
            valid_until: until,
            max_uses,
            per_account: number(&self.per_account, "per_account", "coupon-limits")?,
        })
    }
}

pub struct PlanRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub specs: String,
    pub images: String,
    pub sort_order: i64,
    pub active: bool,
    /// (cycle label, price or empty when not offered)
    pub prices: Vec<(String, String)>,
    /// (region name, servers available)
    pub stock: Vec<(String, i64)>,
    /// The refusal of this plan's price or stock form.
    pub error: Option<String>,
}

fn plan_row(o: &Offer, regions: &[catalog::Region], t: &Tr, lang: Lang) -> PlanRow {
    let p = &o.plan;
    let args = [
        ("vcpu", p.vcpu),
        ("memory", p.memory_mb),
        ("disk", p.disk_gb),
        ("bandwidth", p.bandwidth_mbps),
        ("traffic", p.traffic_gb),
    ];
    let specs = t.t_args("staff-plan-specs", &args.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    PlanRow {
        id: p.id,
        code: p.code.clone(),
        name: p.name(lang).to_string(),
        specs,
        images: p.images().collect::<Vec<_>>().join(", "),
        sort_order: p.sort_order,
        active: p.active,
        prices: Cycle::ALL
            .iter()
            .map(|c| (t.t(&format!("cycle-{}", c.as_str())), o.price(*c).map(yuan).unwrap_or_default()))
            .collect(),
        stock: regions.iter().map(|r| (region_name(r, lang), o.available_in(r.id))).collect(),
        error: None,
    }
}

fn region_name(r: &catalog::Region, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => r.name_zh.clone(),
        Lang::En => r.name_en.clone(),
    }
}

#[derive(Template)]
#[template(path = "staff/catalog.html")]
struct CatalogPage {
    t: Tr,
    l: Layout,
    plans: Vec<PlanRow>,
    /// (value, label)
    cycles: Vec<(&'static str, String)>,
    regions: Vec<(i64, String)>,
    plan: PlanForm,
    coupon: CouponForm,
    /// (code, discount, valid from, valid until, uses: used / limit, per customer)
    coupons: Vec<(String, String, String, String, String, i64)>,
    done: Option<String>,
    plan_error: Option<String>,
    coupon_error: Option<String>,
}

/// What the page says besides the catalog: a done change, or a refused form with what was
/// typed into it.
#[derive(Default)]
struct Notes {
    done: Option<String>,
    plan: Option<PlanForm>,
    plan_error: Option<String>,
    coupon: Option<CouponForm>,
    coupon_error: Option<String>,
    /// A price or stock form of one plan.
    row_error: Option<(i64, String)>,
}

async fn page(state: &AppState, ctx: &RequestContext, s: &StaffCtx, edit: i64, n: Notes) -> Result<Response, WebError> {
    s.principal.require(Permission::CatalogManage)?;
    let t = Tr::new(ctx.lang);
    let regions = catalog::list_regions(&state.core.db, 0, 100).await?;
    let offers = plans::offers(&state.core.db, false).await?;
    let editing = offers.iter().find(|o| o.plan.id == edit).map(|o| PlanForm::of(&o.plan));
    let mut rows: Vec<_> = offers.iter().map(|o| plan_row(o, &regions, &t, ctx.lang)).collect();
    if let Some((id, msg)) = n.row_error {
        rows.iter_mut().filter(|r| r.id == id).for_each(|r| r.error = Some(msg.clone()));
    }
    let page = CatalogPage {
        plans: rows,
        cycles: Cycle::ALL.iter().map(|c| (c.as_str(), t.t(&format!("cycle-{}", c.as_str())))).collect(),
        regions: regions.iter().map(|r| (r.id, region_name(r, ctx.lang))).collect(),
        plan: n.plan.or(editing).unwrap_or_else(PlanForm::blank),
        coupon: n.coupon.unwrap_or_else(CouponForm::blank),
        coupons: coupon_rows(state, s, &t).await?,
        done: n.done,
        plan_error: n.plan_error,
        coupon_error: n.coupon_error,
        l: super::layout(state, ctx, s, "/staff/catalog").await?,
        t,
    };
    Ok(render(&page))
}

async fn coupon_rows(
    state: &AppState,
    s: &StaffCtx,
    t: &Tr,
) -> Result<Vec<(String, String, String, String, String, i64)>, WebError> {
    let tz = &state.core.config.business.time_zone;
    let rows = lantian_core::billing::coupons(&state.core.db, &s.principal).await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let off = if c.kind == "percent" { format!("{}%", c.value) } else { crate::pages::billing::yuan(c.value) };
            let limit = c.max_uses.map_or_else(|| t.t("staff-coupon-unlimited"), |m| m.to_string());
            let from = crate::pages::format_time(tz, c.valid_from);
            let until = crate::pages::format_time(tz, c.valid_until);
            (c.code, off, from, until, format!("{} / {limit}", c.used), c.per_account)
        })
        .collect())
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CatalogQuery {
    /// A plan to fill the plan form with.
    edit: Option<i64>,
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(q): Query<CatalogQuery>,
) -> Result<Response, WebError> {
    let key = match q.done.as_str() {
        "plan" => Some("staff-catalog-plan-saved"),
        "price" => Some("staff-catalog-price-saved"),
        "stock" => Some("staff-catalog-stock-saved"),
        "coupon" => Some("staff-catalog-coupon-created"),
        _ => None,
    };
    let done = key.map(|k| Tr::new(ctx.lang).t(k));
    page(&state, &ctx, &s, q.edit.unwrap_or(0), Notes { done, ..Notes::default() }).await
}

/// After a change, back to the page (a reload does not submit again).
fn saved(what: &str) -> Response {
    Redirect::to(&format!("/staff/catalog?done={what}")).into_response()
}

pub async fn save_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Form(f): Form<PlanForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::CatalogManage)?;
    let done = async { plans::save_plan(&state.core, &s.principal, &f.input()?, state.core.now()).await };
    match done.await {
        Ok(_) => Ok(saved("plan")),
        Err(e) => {
            let notes = Notes { plan_error: Some(refusal(e, &Tr::new(ctx.lang))?), plan: Some(f), ..Notes::default() };
            Ok(refused(page(&state, &ctx, &s, 0, notes).await?))
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PriceForm {
    cycle: String,
    /// Yuan; empty withdraws the cycle.
    amount: String,
    csrf: String,
}

/// The plan a price or stock form is for. The core's tables would refuse an unknown id with a
/// database error; here it is the page's "not found".
async fn known_plan(state: &AppState, id: i64) -> Result<(), WebError> {
    plans::offer(&state.core.db, id).await?;
    Ok(())
}

/// A price or stock form's outcome: back to the page, or the page with the refusal at the plan.
async fn row_outcome(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    (plan, what): (i64, &str),
    done: Result<(), Error>,
) -> Result<Response, WebError> {
    match done {
        Ok(()) => Ok(saved(what)),
        Err(e) => {
            let notes = Notes { row_error: Some((plan, refusal(e, &Tr::new(ctx.lang))?)), ..Notes::default() };
            Ok(refused(page(state, ctx, s, 0, notes).await?))
        }
    }
}

pub async fn set_price(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<PriceForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::CatalogManage)?;
    known_plan(&state, id).await?;
    let done = async {
        let cycle = Cycle::parse(&f.cycle).ok_or(Error::validation("cycle", "cycle-unavailable"))?;
        let price = match f.amount.trim() {
            "" => None,
            typed => Some(fen(typed, false)?),
        };
        plans::set_price(&state.core, &s.principal, id, cycle, price, state.core.now()).await
    };
    row_outcome(&state, &ctx, &s, (id, "price"), done.await).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct StockForm {
    region: String,
    available: String,
    csrf: String,
}

pub async fn set_stock(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<StockForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::CatalogManage)?;
    known_plan(&state, id).await?;
    let done = async {
        let region = number(&f.region, "region", "region")?;
        let region = catalog::region(&state.core.db, region).await.map_err(|e| match e {
            Error::NotFound => Error::validation("region", "region"),
            e => e,
        })?;
        let available = number(&f.available, "available", "stock")?;
        plans::set_stock(&state.core, &s.principal, id, region.id, available, state.core.now()).await
    };
    row_outcome(&state, &ctx, &s, (id, "stock"), done.await).await
}

pub async fn create_coupon(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Form(f): Form<CouponForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::CatalogManage)?;
    let tz = &state.core.config.business.time_zone;
    let done = async { billing::create_coupon(&state.core, &s.principal, &f.input(tz)?, state.core.now()).await };
    match done.await {
        Ok(_) => Ok(saved("coupon")),
        Err(e) => {
            let msg = refusal(e, &Tr::new(ctx.lang))?;
            let notes = Notes { coupon_error: Some(msg), coupon: Some(f), ..Notes::default() };
            Ok(refused(page(&state, &ctx, &s, 0, notes).await?))
        }
    }
}
