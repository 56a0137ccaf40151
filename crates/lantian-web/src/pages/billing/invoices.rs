//! The customer's invoices (账单): list, detail with the ways to pay, printable copy, and the
//! page that waits for a QR payment.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::i18n::Tr;
use lantian_core::payments::gateway::Channel;
use lantian_core::payments::{self, Mode, Started};
use lantian_core::{Error, billing};
use serde::Deserialize;

use super::{InvoiceView, Paging};
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Area, Layout, older_link, render};

#[derive(Template)]
#[template(path = "billing/invoices.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    invoices: Vec<InvoiceView>,
    older: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Query(p): Query<Paging>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    let rows = billing::invoices(&state.core.db, c.customer.id, p.before).await?;
    let older = older_link(rows.len() as i64 == billing::PAGE, rows.last().map(|i| i.id), &[]);
    let invoices = rows.iter().map(|i| InvoiceView::new(i, &t, ctx.lang, tz)).collect();
    Ok(render(&ListPage { l: Layout::from_ctx(&ctx, "/account/invoices", Area::Portal), t, invoices, older }))
}

#[derive(Template)]
#[template(path = "billing/invoice.html")]
struct DetailPage {
    t: Tr,
    l: Layout,
    i: InvoiceView,
    balance: String,
    can_pay_balance: bool,
    gateway: bool,
    /// (trade number, channel, state)
    payments: Vec<(String, String, String)>,
}

pub async fn detail(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    let invoice = billing::invoice_of(&state.core.db, c.customer.id, id).await?;
    let balance = billing::account(&state.core.db, c.customer.id).await?.map_or(0, |(_, b)| b);
    let payments = payments::of_invoice(&state.core, id)
        .await?
        .into_iter()
        .map(|p| {
            (
                p.trade_no.unwrap_or_default(),
                t.t(&format!("channel-{}", p.channel)),
                t.t(&format!("payment-state-{}", p.state)),
            )
        })
        .collect();
    let page = DetailPage {
        can_pay_balance: invoice.kind != "top_up" && balance >= invoice.amount_fen,
        balance: super::yuan(balance),
        gateway: state.core.payments.is_some(),
        i: InvoiceView::new(&invoice, &t, ctx.lang, tz)
            .with_lines(&billing::lines(&state.core.db, id).await?, ctx.lang),
        payments,
        l: Layout::from_ctx(&ctx, &format!("/account/invoices/{id}"), Area::Portal),
        t,
    };
    let mut res = render(&page);
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Template)]
#[template(path = "billing/print.html")]
struct PrintPage {
    t: Tr,
    l: Layout,
    i: InvoiceView,
}

pub async fn print(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let invoice = billing::invoice_of(&state.core.db, c.customer.id, id).await?;
    let lines = billing::lines(&state.core.db, id).await?;
    let i =
        InvoiceView::new(&invoice, &t, ctx.lang, &state.core.config.business.time_zone).with_lines(&lines, ctx.lang);
    Ok(render(&PrintPage { l: Layout::from_ctx(&ctx, &format!("/account/invoices/{id}/print"), Area::Portal), t, i }))
}

#[derive(Deserialize)]
pub struct PayForm {
    /// `balance`, `alipay` or `wxpay`.
    method: String,
}

/// Pays from the balance, or starts a QR payment shown on our own page.
pub async fn pay(
    State(state): State<AppState>,
    c: CustomerCtx,
    Path(id): Path<i64>,
    Form(f): Form<PayForm>,
) -> Result<Response, WebError> {
    let now = state.core.now();
    if f.method == "balance" {
        billing::pay_with_balance(&state.core, c.customer.id, id, now).await?;
        return Ok(Redirect::to(&format!("/account/invoices/{id}")).into_response());
    }
    let channel = Channel::parse(&f.method).ok_or(Error::validation("method", "payment-method"))?;
    match payments::start(&state.core, c.customer.id, id, channel, Mode::Qr, now).await? {
        Started::Qr { payment_id, .. } | Started::Redirect { payment_id, .. } => {
            Ok(Redirect::to(&format!("/account/payments/{payment_id}")).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct ChannelQuery {
    channel: String,
}

/// Sends the browser to the gateway's cashier. A link (GET), not a form: browsers apply the
/// page's CSP `form-action` to a form's redirects, and the gateway is another origin. A GET
/// that starts a payment must come from our own pages, hence the Sec-Fetch-Site check.
pub async fn pay_redirect(
    State(state): State<AppState>,
    c: CustomerCtx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ChannelQuery>,
) -> Result<Response, WebError> {
    let from_elsewhere =
        headers.get("sec-fetch-site").is_some_and(|v| !matches!(v.as_bytes(), b"same-origin" | b"none"));
    if from_elsewhere {
        return Ok(Redirect::to(&format!("/account/invoices/{id}")).into_response());
    }
    let channel = Channel::parse(&q.channel).ok_or(Error::validation("method", "payment-method"))?;
    match payments::start(&state.core, c.customer.id, id, channel, Mode::Redirect, state.core.now()).await? {
        Started::Redirect { url, .. } => Ok(Redirect::to(&url).into_response()),
        Started::Qr { payment_id, .. } => Ok(Redirect::to(&format!("/account/payments/{payment_id}")).into_response()),
    }
}

pub async fn cancel(State(state): State<AppState>, c: CustomerCtx, Path(id): Path<i64>) -> Result<Response, WebError> {
    billing::cancel_order(&state.core, c.customer.id, id, state.core.now()).await?;
    Ok(Redirect::to(&format!("/account/invoices/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "billing/waiting.html")]
struct WaitingPage {
    t: Tr,
    l: Layout,
    invoice_id: i64,
    number: String,
    amount: String,
    channel: String,
    qr_svg: String,
}

/// The QR code of a payment; the page reloads itself every few seconds (no script needed)
/// and goes to the invoice once it is paid.
pub async fn waiting(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (payment, invoice) = payments::payment_of(&state.core, c.customer.id, id).await?;
    if invoice.state != "unpaid" || payment.state != "started" {
        return Ok(Redirect::to(&format!("/account/invoices/{}", invoice.id)).into_response());
    }
    let t = Tr::new(ctx.lang);
    let qr_svg = payment.qr_content.as_deref().map(qr_svg).unwrap_or_default();
    let page = WaitingPage {
        invoice_id: invoice.id,
        number: invoice.number,
        amount: super::yuan(invoice.amount_fen),
        channel: t.t(&format!("channel-{}", payment.channel)),
        qr_svg,
        l: Layout::from_ctx(&ctx, &format!("/account/payments/{id}"), Area::Portal),
        t,
    };
    let mut res = render(&page);
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The QR code as inline SVG (rendered here, so no image is fetched from the gateway).
fn qr_svg(content: &str) -> String {
    match qrcode::QrCode::new(content.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}
