//! Buying over the API: orders, and invoices (账单) with their payments (the balance is in
//! `balance`). Money is integer fen (1 yuan = 100 fen), never a float. Another customer's invoice
//! is "not found", never "forbidden", so an answer does not tell that the number exists.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use lantian_core::Error;
use lantian_core::apitokens::Scope;
use lantian_core::billing::{self, CheckoutInput, Invoice, InvoiceLine, Item};
use lantian_core::catalog::Cycle;
use lantian_core::payments::gateway::Channel;
use lantian_core::payments::{self, Mode, Payment, Started};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::customer;
use super::me::ApiCaller;
use crate::AppState;
use crate::error::WebError;

/// Ids arrive unsigned, so a negative one is refused before any lookup; one beyond `i64`
/// cannot exist.
fn id(v: u64) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::NotFound)
}

/// The paging parameter of the lists that run newest first.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BeforeQuery {
    /// Return items older than this id (the `next_before` of the previous page).
    before: Option<i64>,
}

impl BeforeQuery {
    pub(super) fn checked(&self) -> Result<i64, Error> {
        match self.before {
            Some(b) if b < 0 => Err(Error::validation("before", "cursor")),
            b => Ok(b.unwrap_or(0)),
        }
    }
}

/// Pages hold `billing::PAGE` items; a full page may have older ones.
pub(super) fn next_before(len: usize, last: Option<i64>) -> Option<i64> {
    if len as i64 == billing::PAGE { last } else { None }
}

/// One server to order.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    plan_id: u64,
    region_id: u64,
    /// `monthly`, `quarterly`, `semiannual` or `annual`; the plan must have a price for it.
    cycle: String,
    /// One of the plan's `os_images`.
    os_image: String,
}

impl OrderItem {
    fn checked(self) -> Result<Item, Error> {
        let cycle = Cycle::parse(&self.cycle).ok_or(Error::validation("cycle", "cycle-unavailable"))?;
        Ok(Item { plan_id: id(self.plan_id)?, region_id: id(self.region_id)?, cycle, os_image: self.os_image })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// One to ten servers, all on one invoice.
    items: Vec<OrderItem>,
    /// A coupon code (case does not matter), used once for the whole order.
    coupon: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderPlaced {
    /// One order per server, in the order of `items`.
    order_ids: Vec<i64>,
    invoice_id: i64,
    /// What is to be paid, in fen; 0 when a coupon covers it all (the invoice is paid then).
    amount_fen: i64,
}

/// Orders servers: an order for each and one unpaid invoice. The invoice's address is in
/// `Location`.
#[utoipa::path(
    post,
    path = "/api/v1/orders",
    request_body = OrderRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The order and its invoice", body = OrderPlaced),
        (status = 400, description = "Malformed JSON or id", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token with the `write` scope", body = super::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan or region on sale", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused (`field` names it), or the account may not buy yet", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "billing"
)]
pub async fn place_order(
    State(state): State<AppState>,
    caller: ApiCaller,
    Json(o): Json<OrderRequest>,
) -> Result<Response, WebError> {
    let customer_id = customer(&caller, Scope::Write)?;
    if o.items.len() > billing::MAX_ITEMS {
        return Err(Error::validation("items", "cart-full").into());
    }
    let items = o.items.into_iter().map(OrderItem::checked).collect::<Result<_, _>>()?;
    let input = CheckoutInput { items, coupon: o.coupon.unwrap_or_default() };
    let p = billing::checkout(&state.core, customer_id, &input, state.core.now()).await?;
    let location = [(header::LOCATION, format!("/api/v1/invoices/{}", p.invoice_id))];
    let body = OrderPlaced { order_ids: p.order_ids, invoice_id: p.invoice_id, amount_fen: p.amount_fen };
    Ok((StatusCode::CREATED, location, Json(body)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceOut {
    id: i64,
    /// The invoice number, e.g. `LT-2026-000001`.
    number: String,
    /// `services` (servers) or `top_up` (balance).
    kind: String,
    /// A summary of the lines: the only one, or the first and how many more.
    item_zh: String,
    item_en: String,
    price_fen: i64,
    discount_fen: i64,
    /// To be paid: price less discount.
    amount_fen: i64,
    refunded_fen: i64,
    /// `unpaid`, `paid` or `cancelled`.
    state: String,
    /// `balance` or `gateway`, once paid.
    paid_via: Option<String>,
    /// Epoch milliseconds, as every time in the API.
    issued_at: i64,
    paid_at: Option<i64>,
    cancelled_at: Option<i64>,
}

impl From<Invoice> for InvoiceOut {
    fn from(i: Invoice) -> Self {
        InvoiceOut {
            id: i.id,
            number: i.number,
            kind: i.kind,
            item_zh: i.item_zh,
            item_en: i.item_en,
            price_fen: i.price_fen,
            discount_fen: i.discount_fen,
            amount_fen: i.amount_fen,
            refunded_fen: i.refunded_fen,
            state: i.state,
            paid_via: i.paid_via,
            issued_at: i.issued_at.0,
            paid_at: i.paid_at.map(|t| t.0),
            cancelled_at: i.cancelled_at.map(|t| t.0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InvoicePage {
    /// Newest first.
    items: Vec<InvoiceOut>,
    /// Pass as `before` to get the next page; null on the last page.
    next_before: Option<i64>,
}

/// The caller's invoices, newest first, 20 a page.
#[utoipa::path(
    get,
    path = "/api/v1/invoices",
    params(BeforeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of invoices", body = InvoicePage),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`before` is negative", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "billing"
)]
pub async fn list_invoices(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<BeforeQuery>,
) -> Result<Json<InvoicePage>, WebError> {
    let customer_id = customer(&caller, Scope::Read)?;
    let rows = billing::invoices(&state.core.db, customer_id, q.checked()?).await?;
    let next_before = next_before(rows.len(), rows.last().map(|i| i.id));
    Ok(Json(InvoicePage { items: rows.into_iter().map(InvoiceOut::from).collect(), next_before }))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentOut {
    id: i64,
    /// Our payment number, as the gateway knows it.
    out_trade_no: String,
    /// `alipay` or `wxpay`.
    channel: String,
    amount_fen: i64,
    /// `started`, `paid` or `refunded`.
    state: String,
    /// The gateway's number, once paid.
    trade_no: Option<String>,
    created_at: i64,
    paid_at: Option<i64>,
}

impl From<Payment> for PaymentOut {
    fn from(p: Payment) -> Self {
        PaymentOut {
            id: p.id,
            out_trade_no: p.out_trade_no,
            channel: p.channel,
            amount_fen: p.amount_fen,
            state: p.state,
            trade_no: p.trade_no,
            created_at: p.created_at.0,
            paid_at: p.paid_at.map(|t| t.0),
        }
    }
}

/// One order on an invoice.
#[derive(Serialize, ToSchema)]
pub struct LineOut {
    order_id: i64,
    item_zh: String,
    item_en: String,
    price_fen: i64,
    discount_fen: i64,
    amount_fen: i64,
    /// The order's state: `pending`, `paid` or `cancelled`.
    state: String,
    /// The duration bought; 0 for balance.
    months: i64,
}

impl From<InvoiceLine> for LineOut {
    fn from(l: InvoiceLine) -> Self {
        LineOut {
            order_id: l.order_id,
            item_zh: l.item_zh,
            item_en: l.item_en,
            price_fen: l.price_fen,
            discount_fen: l.discount_fen,
            amount_fen: l.amount_fen,
            state: l.state,
            months: l.months,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceDetail {
    #[serde(flatten)]
    invoice: InvoiceOut,
    lines: Vec<LineOut>,
    /// The gateway payments started for it, newest first.
    payments: Vec<PaymentOut>,
}

/// One of the caller's invoices with its lines and payments.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}",
    params(("id" = u64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The invoice", body = InvoiceDetail),
        (status = 400, description = "Malformed id", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token", body = super::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice of the caller", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "billing"
)]
pub async fn invoice(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(invoice_id): Path<u64>,
) -> Result<Json<InvoiceDetail>, WebError> {
    let customer_id = customer(&caller, Scope::Read)?;
    let invoice = billing::invoice_of(&state.core.db, customer_id, id(invoice_id)?).await?;
    let payments = payments::of_invoice(&state.core, invoice.id).await?;
    let payments = payments.into_iter().map(PaymentOut::from).collect();
    let lines = billing::lines(&state.core.db, invoice.id).await?.into_iter().map(LineOut::from).collect();
    Ok(Json(InvoiceDetail { invoice: invoice.into(), lines, payments }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// `balance`, `alipay` or `wxpay`.
    method: String,
    /// For `alipay` and `wxpay`: `redirect` (send the buyer to the gateway's cashier at
    /// `redirect_url`) or `qr` (show `qr_content` as a QR code).
    mode: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentStarted {
    payment_id: i64,
    /// With mode `redirect`.
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_url: Option<String>,
    /// With mode `qr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    qr_content: Option<String>,
}

/// The state an invoice is left in.
#[derive(Serialize, ToSchema)]
pub struct InvoiceState {
    /// `paid` or `cancelled`.
    state: &'static str,
}

fn parse_mode(s: &str) -> Result<Mode, Error> {
    match s {
        "redirect" => Ok(Mode::Redirect),
        "qr" => Ok(Mode::Qr),
        _ => Err(Error::validation("mode", "payment-method")),
    }
}

/// Pays an unpaid invoice from the balance at once, or starts a payment through the gateway
/// (the invoice is paid when the gateway confirms; poll the invoice).
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/payments",
    params(("id" = u64, Path)),
    request_body = PaymentRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Paid from the balance", body = InvoiceState),
        (status = 201, description = "A gateway payment started", body = PaymentStarted),
        (status = 400, description = "Malformed JSON or id", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token with the `write` scope", body = super::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice of the caller", body = super::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The invoice is not unpaid", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused, or the balance is not enough", body = super::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The gateway failed", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "billing"
)]
pub async fn pay(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(invoice_id): Path<u64>,
    Json(p): Json<PaymentRequest>,
) -> Result<Response, WebError> {
    let customer_id = customer(&caller, Scope::Write)?;
    let invoice_id = id(invoice_id)?;
    let mode = p.mode.as_deref().map(parse_mode).transpose()?;
    let now = state.core.now();
    if p.method == "balance" {
        billing::pay_with_balance(&state.core, customer_id, invoice_id, now).await?;
        return Ok(Json(InvoiceState { state: "paid" }).into_response());
    }
    let channel = Channel::parse(&p.method).ok_or(Error::validation("method", "payment-method"))?;
    let mode = mode.ok_or(Error::validation("mode", "payment-method"))?;
    let started = match payments::start(&state.core, customer_id, invoice_id, channel, mode, now).await? {
        Started::Redirect { payment_id, url } => {
            PaymentStarted { payment_id, redirect_url: Some(url), qr_content: None }
        }
        Started::Qr { payment_id, content } => {
            PaymentStarted { payment_id, redirect_url: None, qr_content: Some(content) }
        }
    };
    Ok((StatusCode::CREATED, Json(started)).into_response())
}

/// Withdraws an unpaid order with its invoice; its server goes back to stock.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/cancel",
    params(("id" = u64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled", body = InvoiceState),
        (status = 400, description = "Malformed id", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token with the `write` scope", body = super::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invoice of the caller", body = super::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The invoice is not unpaid", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "billing"
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(invoice_id): Path<u64>,
) -> Result<Json<InvoiceState>, WebError> {
    let customer_id = customer(&caller, Scope::Write)?;
    billing::cancel_order(&state.core, customer_id, id(invoice_id)?, state.core.now()).await?;
    Ok(Json(InvoiceState { state: "cancelled" }))
}
