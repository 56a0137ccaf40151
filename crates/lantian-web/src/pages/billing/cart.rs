//! The cart: servers configured and not bought yet, bought together on one invoice.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::billing;
use lantian_core::i18n::Tr;
use serde::Deserialize;

use super::shop::{CheckoutForm, refused_checkout};
use super::{pick, yuan};
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Area, Layout, refused, render};

/// An item as the cart shows it.
struct CartRow {
    id: i64,
    item: String,
    /// None: no longer offered like this; checkout would refuse it, so it can only be removed.
    price: Option<String>,
}

#[derive(Template)]
#[template(path = "billing/cart.html")]
struct CartPage {
    t: Tr,
    l: Layout,
    items: Vec<CartRow>,
    total: String,
    all_available: bool,
    error: Option<String>,
    coupon: String,
}

async fn cart_page(
    state: &AppState,
    ctx: &RequestContext,
    customer_id: i64,
    error: Option<String>,
    coupon: String,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let lines = billing::cart(&state.core, customer_id).await?;
    let total = lines.iter().filter_map(|l| l.price_fen).sum();
    let items = lines
        .iter()
        .map(|l| CartRow {
            id: l.id,
            item: l.described.as_ref().map_or_else(|| t.t("cart-item-unavailable"), |(zh, en)| pick(ctx.lang, zh, en)),
            price: l.price_fen.map(yuan),
        })
        .collect();
    let page = CartPage {
        all_available: lines.iter().all(|l| l.price_fen.is_some()),
        items,
        total: yuan(total),
        error,
        coupon,
        l: Layout::from_ctx(ctx, "/account/cart", Area::Portal),
        t,
    };
    let mut res = render(&page);
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
) -> Result<Response, WebError> {
    cart_page(&state, &ctx, c.customer.id, None, String::new()).await
}

/// From the checkout page's "add to cart" button.
pub async fn add(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Form(f): Form<CheckoutForm>,
) -> Result<Response, WebError> {
    let added = match f.item() {
        Ok(item) => billing::add_to_cart(&state.core, c.customer.id, &item, state.core.now()).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(()) => Ok(Redirect::to("/account/cart").into_response()),
        Err(e) => refused_checkout(&state, &ctx, &f, e).await,
    }
}

pub async fn remove(State(state): State<AppState>, c: CustomerCtx, Path(id): Path<i64>) -> Result<Response, WebError> {
    billing::remove_from_cart(&state.core, c.customer.id, id).await?;
    Ok(Redirect::to("/account/cart").into_response())
}

#[derive(Deserialize)]
pub struct CartCheckoutForm {
    #[serde(default)]
    coupon: String,
}

pub async fn checkout(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Form(f): Form<CartCheckoutForm>,
) -> Result<Response, WebError> {
    match billing::checkout_cart(&state.core, c.customer.id, &f.coupon, state.core.now()).await {
        Ok(placed) => Ok(Redirect::to(&format!("/account/invoices/{}", placed.invoice_id)).into_response()),
        Err(lantian_core::Error::Validation { code, .. } | lantian_core::Error::Conflict(code)) => {
            if let Some(to) = super::shop::gate_page(code) {
                return Ok(Redirect::to(to).into_response());
            }
            let t = Tr::new(ctx.lang);
            let coupon: String = f.coupon.chars().take(32).collect();
            let page = cart_page(&state, &ctx, c.customer.id, Some(t.t(&format!("invalid-{code}"))), coupon).await?;
            Ok(refused(page))
        }
        Err(e) => Err(WebError(e)),
    }
}
