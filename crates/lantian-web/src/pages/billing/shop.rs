//! The public list of plans, and configuring a server: bought at once, or put in the cart.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::billing::{self, CheckoutInput, Item};
use lantian_core::catalog::{self, Cycle, Offer};
use lantian_core::i18n::{Lang, Tr};
use serde::Deserialize;

use super::yuan;
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Area, Layout, refused, render};

/// A plan as a card of the shop.
pub struct PlanCard {
    pub id: i64,
    pub name: String,
    pub specs: String,
    /// (cycle label, price)
    pub prices: Vec<(String, String)>,
    /// Regions where it is in stock, with "real name required" marks.
    pub regions: Vec<(String, bool)>,
}

fn card(o: &Offer, regions: &[catalog::Region], t: &Tr, lang: Lang) -> PlanCard {
    let p = &o.plan;
    let traffic = if p.traffic_gb == 0 { t.t("plan-unmetered") } else { format!("{} GB", p.traffic_gb) };
    let args = [
        ("vcpu", p.vcpu.to_string()),
        ("memory", format!("{}", p.memory_mb / 1024)),
        ("disk", p.disk_gb.to_string()),
        ("bandwidth", p.bandwidth_mbps.to_string()),
        ("traffic", traffic),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    PlanCard {
        id: p.id,
        name: p.name(lang).to_string(),
        specs: t.t_args("plan-specs", &args),
        prices: o.prices.iter().map(|(c, fen)| (t.t(&format!("cycle-{}", c.as_str())), yuan(*fen))).collect(),
        regions: regions
            .iter()
            .filter(|r| o.available_in(r.id) > 0)
            .map(|r| (region_name(r, lang), r.real_name_required))
            .collect(),
    }
}

fn region_name(r: &catalog::Region, lang: Lang) -> String {
    match lang {
        Lang::ZhCn => r.name_zh.clone(),
        Lang::En => r.name_en.clone(),
    }
}

#[derive(Template)]
#[template(path = "billing/catalog.html")]
struct CatalogPage {
    t: Tr,
    l: Layout,
    plans: Vec<PlanCard>,
}

pub async fn catalog(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let regions = catalog::list_regions(&state.core.db, 0, 100).await?;
    let offers = catalog::plans::offers(&state.core.db, true).await?;
    let plans = offers.iter().filter(|o| !o.prices.is_empty()).map(|o| card(o, &regions, &t, ctx.lang)).collect();
    Ok(render(&CatalogPage { l: Layout::from_ctx(&ctx, "/servers", Area::Public), t, plans }))
}

#[derive(Deserialize)]
pub struct PlanQuery {
    plan: i64,
}

#[derive(Template)]
#[template(path = "billing/checkout.html")]
struct CheckoutPage {
    t: Tr,
    l: Layout,
    plan: PlanCard,
    plan_id: i64,
    /// (id, name, real name required)
    regions: Vec<(i64, String, bool)>,
    /// (value, label with price)
    cycles: Vec<(String, String)>,
    images: Vec<String>,
    error: Option<String>,
    coupon: String,
}

pub(super) async fn checkout_page(
    state: &AppState,
    ctx: &RequestContext,
    plan_id: i64,
    error: Option<String>,
    coupon: String,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let offer = catalog::plans::offer(&state.core.db, plan_id).await?;
    if !offer.plan.active {
        return Err(WebError(lantian_core::Error::NotFound));
    }
    let all = catalog::list_regions(&state.core.db, 0, 100).await?;
    let regions = all
        .iter()
        .filter(|r| offer.available_in(r.id) > 0)
        .map(|r| (r.id, region_name(r, ctx.lang), r.real_name_required))
        .collect();
    let cycles = offer
        .prices
        .iter()
        .map(|(c, fen)| (c.as_str().to_string(), format!("{} · {}", t.t(&format!("cycle-{}", c.as_str())), yuan(*fen))))
        .collect();
    let images = offer.plan.images().map(str::to_string).collect();
    let page = CheckoutPage {
        plan: card(&offer, &all, &t, ctx.lang),
        plan_id,
        regions,
        cycles,
        images,
        error,
        coupon,
        l: Layout::from_ctx(ctx, "/account/checkout", Area::Portal),
        t,
    };
    Ok(render(&page))
}

pub async fn checkout_form(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    _c: CustomerCtx,
    Query(q): Query<PlanQuery>,
) -> Result<Response, WebError> {
    checkout_page(&state, &ctx, q.plan, None, String::new()).await
}

/// A configured server, as the checkout page posts it (to buy now or to the cart).
#[derive(Deserialize)]
pub struct CheckoutForm {
    pub plan: i64,
    region: i64,
    cycle: String,
    os_image: String,
    #[serde(default)]
    pub coupon: String,
}

impl CheckoutForm {
    /// The item, or the code of what is wrong with it.
    pub fn item(&self) -> Result<Item, lantian_core::Error> {
        let cycle = Cycle::parse(&self.cycle).ok_or(lantian_core::Error::validation("cycle", "cycle-unavailable"))?;
        Ok(Item { plan_id: self.plan, region_id: self.region, cycle, os_image: self.os_image.clone() })
    }
}

pub async fn checkout(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Form(f): Form<CheckoutForm>,
) -> Result<Response, WebError> {
    let placed = match f.item() {
        Ok(item) => {
            let input = CheckoutInput { items: vec![item], coupon: f.coupon.clone() };
            billing::checkout(&state.core, c.customer.id, &input, state.core.now()).await
        }
        Err(e) => Err(e),
    };
    match placed {
        Ok(placed) => Ok(Redirect::to(&format!("/account/invoices/{}", placed.invoice_id)).into_response()),
        Err(e) => refused_checkout(&state, &ctx, &f, e).await,
    }
}

/// Where a customer the checkout gate stopped can do what is missing: real-name verification,
/// or a guardian's consent (on the same page).
pub(super) fn gate_page(code: &str) -> Option<&'static str> {
    matches!(code, "real-name-required" | "guardian-consent-required").then_some("/account/real-name")
}

/// The checkout page again with what was wrong; errors that are not the customer's propagate.
pub(super) async fn refused_checkout(
    state: &AppState,
    ctx: &RequestContext,
    f: &CheckoutForm,
    e: lantian_core::Error,
) -> Result<Response, WebError> {
    let lantian_core::Error::Validation { code, .. } = e else { return Err(WebError(e)) };
    if let Some(to) = gate_page(code) {
        return Ok(Redirect::to(to).into_response());
    }
    let t = Tr::new(ctx.lang);
    let coupon: String = f.coupon.chars().take(32).collect();
    let page = checkout_page(state, ctx, f.plan, Some(t.t(&format!("invalid-{code}"))), coupon).await?;
    Ok(refused(page))
}
