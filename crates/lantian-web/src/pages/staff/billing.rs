//! The console's money pages (`BillingManage`): every invoice with its payments and the two
//! kinds of refund, the gateway's callbacks as they were received, and manual adjustments of
//! a customer's balance. Staff type amounts in yuan; everything below the form is fen.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use http::StatusCode;
use lantian_core::authz::Permission;
use lantian_core::i18n::Tr;
use lantian_core::payments::{self, Callback, Payment};
use lantian_core::{Error, accounts, billing, money};
use serde::Deserialize;

use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::billing::{InvoiceView, yuan};
use crate::pages::{Layout, format_time, older_link, refused, render};

const INVOICE_STATES: [&str; 3] = ["unpaid", "paid", "cancelled"];

/// A refused form's message in the member's language. Only refused input is drawn next to
/// the form; anything else (forbidden, not found, a broken database) stays an error page.
pub(super) fn refusal(e: Error, t: &Tr) -> Result<String, WebError> {
    match e {
        Error::Validation { code, .. } => Ok(t.t(&format!("invalid-{code}"))),
        e => Err(e.into()),
    }
}

/// An amount typed in yuan (`12.50`) as fen; `signed` also takes `-12.50`. The sign is split
/// off here because `parse_yuan` reads gateway amounts, which are never negative.
pub(super) fn fen(text: &str, signed: bool) -> Result<i64, Error> {
    let text = text.trim();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) if signed => (-1, rest),
        _ => (1, text),
    };
    money::parse_yuan(digits).map(|f| sign * f).ok_or(Error::validation("amount", "amount-format"))
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct InvoiceQuery {
    state: String,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "staff/billing_invoices.html")]
struct InvoicesPage {
    t: Tr,
    l: Layout,
    /// (value, label, chosen) of the filter's choices; none chosen lists all.
    states: Vec<(&'static str, String, bool)>,
    invoices: Vec<InvoiceView>,
    older: Option<String>,
}

pub async fn invoices(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(q): Query<InvoiceQuery>,
) -> Result<Response, WebError> {
    s.principal.require(Permission::BillingManage)?;
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    let (only, states) = super::state_filter(&INVOICE_STATES, &q.state, "invoice-state-", &t);
    let rows = billing::all_invoices(&state.core.db, &s.principal, only, q.before.unwrap_or(0)).await?;
    let filter = [("state", only.unwrap_or(""))];
    let older = older_link(rows.len() as i64 == billing::CONSOLE_PAGE, rows.last().map(|i| i.id), &filter);
    let page = InvoicesPage {
        states,
        invoices: rows.iter().map(|i| InvoiceView::new(i, &t, ctx.lang, tz)).collect(),
        older,
        l: super::layout(&state, &ctx, &s, "/staff/invoices").await?,
        t,
    };
    Ok(render(&page))
}

pub struct PaymentRow {
    pub id: i64,
    pub out_trade_no: String,
    pub trade_no: String,
    pub channel: String,
    pub amount: String,
    pub state: String,
    pub refunded: String,
    /// Paid with money left to give back: the gateway refund form is shown.
    pub refundable: bool,
    /// The refusal of this payment's refund form.
    pub error: Option<String>,
}

fn payment_row(p: Payment, t: &Tr) -> PaymentRow {
    PaymentRow {
        id: p.id,
        refundable: p.state == "paid" && p.refunded_fen < p.amount_fen,
        out_trade_no: p.out_trade_no,
        trade_no: p.trade_no.unwrap_or_default(),
        channel: t.t(&format!("channel-{}", p.channel)),
        amount: yuan(p.amount_fen),
        state: t.t(&format!("payment-state-{}", p.state)),
        refunded: yuan(p.refunded_fen),
        error: None,
    }
}

#[derive(Template)]
#[template(path = "staff/billing_invoice.html")]
struct InvoicePage {
    t: Tr,
    l: Layout,
    i: InvoiceView,
    /// Paid with money left to give back: the balance refund form is shown.
    refundable: bool,
    payments: Vec<PaymentRow>,
    done: Option<String>,
    /// The refusal of the balance refund form.
    error: Option<String>,
}

/// What the invoice page says besides the invoice: a done refund, or a refused form
/// (`payment` names the gateway form, `None` the balance one).
#[derive(Default)]
struct Notes {
    done: Option<String>,
    refused: Option<(Option<i64>, String)>,
}

async fn invoice_page(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    id: i64,
    notes: Notes,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let invoice = billing::invoice_for_staff(&state.core.db, &s.principal, id).await?;
    let mut payments: Vec<_> =
        payments::of_invoice(&state.core, id).await?.into_iter().map(|p| payment_row(p, &t)).collect();
    let mut error = None;
    match notes.refused {
        Some((Some(payment), msg)) => {
            payments.iter_mut().filter(|p| p.id == payment).for_each(|p| p.error = Some(msg.clone()))
        }
        Some((None, msg)) => error = Some(msg),
        None => {}
    }
    let page = InvoicePage {
        refundable: invoice.state == "paid" && invoice.refunded_fen < invoice.amount_fen,
        i: InvoiceView::new(&invoice, &t, ctx.lang, &state.core.config.business.time_zone)
            .with_lines(&billing::lines(&state.core.db, id).await?, ctx.lang),
        payments,
        done: notes.done,
        error,
        l: super::layout(state, ctx, s, &format!("/staff/invoices/{id}")).await?,
        t,
    };
    let mut res = render(&page);
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn invoice(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Query(q): Query<super::DoneQuery>,
) -> Result<Response, WebError> {
    s.principal.require(Permission::BillingManage)?;
    let key = match q.done.as_str() {
        "balance" => Some("staff-refund-balance-done"),
        "gateway" => Some("staff-refund-gateway-done"),
        _ => None,
    };
    let done = key.map(|k| Tr::new(ctx.lang).t(k));
    invoice_page(&state, &ctx, &s, id, Notes { done, ..Notes::default() }).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RefundForm {
    amount: String,
    reason: String,
    csrf: String,
}

/// Gives part or all of a paid invoice back to the customer's balance.
pub async fn refund_to_balance(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<RefundForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::BillingManage)?;
    let done = async {
        let amount = fen(&f.amount, false)?;
        billing::refund_to_balance(&state.core, &s.principal, id, amount, &f.reason, state.core.now()).await
    };
    refund_outcome(&state, &ctx, &s, (id, None), done.await).await
}

/// Gives part or all of a payment back through the gateway, to where the money came from.
pub async fn refund_via_gateway(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path((id, payment)): Path<(i64, i64)>,
    Form(f): Form<RefundForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::BillingManage)?;
    // The form belongs to this invoice's page; a payment of another invoice is not on it.
    if !payments::of_invoice(&state.core, id).await?.iter().any(|p| p.id == payment) {
        return Err(Error::NotFound.into());
    }
    let done = async {
        let amount = fen(&f.amount, false)?;
        payments::refund_via_gateway(&state.core, &s.principal, payment, amount, &f.reason, state.core.now()).await
    };
    refund_outcome(&state, &ctx, &s, (id, Some(payment)), done.await).await
}

/// A refund form's outcome: back to the invoice, or the invoice with the refusal at the form
/// (`payment`: the gateway form of that payment, `None`: the balance form).
async fn refund_outcome(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    (id, payment): (i64, Option<i64>),
    done: Result<(), Error>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let (status, msg) = match done {
        Ok(()) => {
            let via = if payment.is_some() { "gateway" } else { "balance" };
            return Ok(Redirect::to(&format!("/staff/invoices/{id}?done={via}")).into_response());
        }
        // The reservation was given back: nothing changed, and the member may try again.
        Err(Error::Upstream(_)) => (StatusCode::BAD_GATEWAY, t.t("staff-refund-gateway-failed")),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, refusal(e, &t)?),
    };
    let notes = Notes { refused: Some((payment, msg)), ..Notes::default() };
    let mut res = refused(invoice_page(state, ctx, s, id, notes).await?);
    *res.status_mut() = status;
    Ok(res)
}

pub struct CallbackRow {
    pub id: i64,
    pub source: String,
    /// `received`, `processing`, `applied`, `ignored` or `refused`.
    pub state: String,
    pub state_label: String,
    pub outcome: String,
    pub out_trade_no: String,
    pub trade_no: String,
    /// The kept result fields, as stored (JSON).
    pub fields: String,
    pub attempts: i64,
    pub received: String,
    pub processed: String,
}

fn callback_row(c: Callback, t: &Tr, tz: &str) -> CallbackRow {
    CallbackRow {
        id: c.id,
        source: t.t(&format!("callback-source-{}", c.source)),
        state_label: t.t(&format!("callback-state-{}", c.state)),
        state: c.state,
        outcome: c.outcome.map(|o| t.t(&format!("callback-outcome-{o}"))).unwrap_or_default(),
        out_trade_no: c.out_trade_no.unwrap_or_default(),
        trade_no: c.trade_no.unwrap_or_default(),
        fields: c.fields,
        attempts: c.attempts,
        received: format_time(tz, c.received_at),
        processed: c.processed_at.map(|at| format_time(tz, at)).unwrap_or_default(),
    }
}

#[derive(Deserialize)]
pub struct Paging {
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "staff/billing_callbacks.html")]
struct CallbacksPage {
    t: Tr,
    l: Layout,
    callbacks: Vec<CallbackRow>,
    older: Option<String>,
}

pub async fn callbacks(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(p): Query<Paging>,
) -> Result<Response, WebError> {
    s.principal.require(Permission::BillingManage)?;
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    let rows = payments::callbacks(&state.core, &s.principal, p.before.unwrap_or(0)).await?;
    let older = older_link(rows.len() as i64 == billing::CONSOLE_PAGE, rows.last().map(|c| c.id), &[]);
    let callbacks = rows.into_iter().map(|c| callback_row(c, &t, tz)).collect();
    let l = super::layout(&state, &ctx, &s, "/staff/callbacks").await?;
    Ok(render(&CallbacksPage { t, l, callbacks, older }))
}

/// One customer's billing account as the balance page shows it.
pub struct AccountView {
    pub username: String,
    pub balance: String,
    /// (time, kind, signed amount, balance after, reason)
    pub entries: Vec<(String, String, String, String, String)>,
}

/// The customer a balance form names; one that does not exist is refused like a typo.
async fn customer(state: &AppState, typed: &str) -> Result<accounts::Customer, Error> {
    let unknown = || Error::validation("customer", "customer");
    let id: i64 = typed.trim().parse().map_err(|_| unknown())?;
    accounts::get(&state.core, id).await.map_err(|e| if matches!(e, Error::NotFound) { unknown() } else { e })
}

async fn account_view(state: &AppState, t: &Tr, c: accounts::Customer) -> Result<AccountView, Error> {
    let tz = &state.core.config.business.time_zone;
    let balance = billing::account(&state.core.db, c.id).await?.map_or(0, |(_, b)| b);
    let entries = billing::ledger(&state.core.db, c.id, 0).await?.into_iter().map(|r| {
        let amount = if r.amount_fen > 0 { format!("+{}", yuan(r.amount_fen)) } else { yuan(r.amount_fen) };
        let kind = t.t(&format!("ledger-{}", r.kind));
        (format_time(tz, r.created_at), kind, amount, yuan(r.balance_after), r.reason.unwrap_or_default())
    });
    Ok(AccountView { username: c.username, balance: yuan(balance), entries: entries.collect() })
}

/// The adjustment form, as typed (kept when it is refused).
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct AdjustForm {
    customer: String,
    amount: String,
    reason: String,
    csrf: String,
}

#[derive(Template)]
#[template(path = "staff/billing_balance.html")]
struct BalancePage {
    t: Tr,
    l: Layout,
    form: AdjustForm,
    account: Option<AccountView>,
    done: bool,
    error: Option<String>,
}

async fn balance_page(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    form: AdjustForm,
    account: Option<AccountView>,
    (done, error): (bool, Option<String>),
) -> Result<Response, WebError> {
    let l = super::layout(state, ctx, s, "/staff/balance").await?;
    let mut res = render(&BalancePage { t: Tr::new(ctx.lang), l, form, account, done, error });
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct BalanceQuery {
    customer: String,
    done: String,
}

/// The adjustment form; with `?customer=` also that customer's balance and latest movements.
pub async fn balance(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(q): Query<BalanceQuery>,
) -> Result<Response, WebError> {
    s.principal.require(Permission::BillingManage)?;
    let t = Tr::new(ctx.lang);
    let form = AdjustForm { customer: q.customer.trim().to_string(), ..AdjustForm::default() };
    if form.customer.is_empty() {
        return balance_page(&state, &ctx, &s, form, None, (false, None)).await;
    }
    let view = async { account_view(&state, &t, customer(&state, &form.customer).await?).await };
    match view.await {
        Ok(a) => balance_page(&state, &ctx, &s, form, Some(a), (q.done == "1", None)).await,
        Err(e) => {
            let msg = refusal(e, &t)?;
            Ok(refused(balance_page(&state, &ctx, &s, form, None, (false, Some(msg))).await?))
        }
    }
}

/// Moves a customer's balance by a signed amount, with the reason kept in the ledger and the
/// audit trail; then shows the customer's account (a reload does not adjust twice).
pub async fn adjust(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Form(f): Form<AdjustForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::BillingManage)?;
    let t = Tr::new(ctx.lang);
    let now = state.core.now();
    let done = async {
        let id = customer(&state, &f.customer).await?.id;
        let delta = fen(&f.amount, true)?;
        billing::adjust_balance(&state.core, &s.principal, id, delta, &f.reason, now).await?;
        Ok::<_, Error>(id)
    };
    match done.await {
        Ok(id) => Ok(Redirect::to(&format!("/staff/balance?customer={id}&done=1")).into_response()),
        Err(e) => {
            let msg = refusal(e, &t)?;
            Ok(refused(balance_page(&state, &ctx, &s, f, None, (false, Some(msg))).await?))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_are_yuan_with_at_most_two_decimals_and_a_sign_only_when_asked() {
        use super::fen;
        assert_eq!((fen(" 12.5 ", false).unwrap(), fen("-12.50", true).unwrap()), (1250, -1250));
        for (bad, signed) in [("", false), ("abc", false), ("1.001", false), ("-1", false), ("--1", true), ("-", true)]
        {
            assert!(fen(bad, signed).is_err(), "{bad:?}");
        }
    }
}
