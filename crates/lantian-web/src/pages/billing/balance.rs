//! The balance, its ledger, and topping it up through the gateway.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::i18n::Tr;
use lantian_core::{Error, billing, money};
use serde::Deserialize;

use super::{Paging, yuan};
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Area, Layout, format_time, older_link, render};

pub struct EntryView {
    pub at: String,
    pub kind: String,
    pub amount: String,
    pub credit: bool,
    pub balance_after: String,
    pub invoice_id: Option<i64>,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "billing/balance.html")]
struct BalancePage {
    t: Tr,
    l: Layout,
    balance: String,
    entries: Vec<EntryView>,
    older: Option<String>,
    gateway: bool,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Query(p): Query<Paging>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    let balance = billing::account(&state.core.db, c.customer.id).await?.map_or(0, |(_, b)| b);
    let rows = billing::ledger(&state.core.db, c.customer.id, p.before).await?;
    let older = older_link(rows.len() as i64 == billing::PAGE, rows.last().map(|r| r.id), &[]);
    let entries = rows
        .into_iter()
        .map(|r| EntryView {
            at: format_time(tz, r.created_at),
            kind: t.t(&format!("ledger-{}", r.kind)),
            amount: yuan(r.amount_fen),
            credit: r.amount_fen > 0,
            balance_after: yuan(r.balance_after),
            invoice_id: r.invoice_id,
            reason: r.reason.unwrap_or_default(),
        })
        .collect();
    let page = BalancePage {
        balance: yuan(balance),
        entries,
        older,
        gateway: state.core.payments.is_some(),
        l: Layout::from_ctx(&ctx, "/account/balance", Area::Portal),
        t,
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct TopUpForm {
    /// Yuan, as typed: "100" or "99.50".
    amount: String,
}

/// Creates a top-up invoice; the customer pays it like any other.
pub async fn top_up(
    State(state): State<AppState>,
    c: CustomerCtx,
    Form(f): Form<TopUpForm>,
) -> Result<Response, WebError> {
    let fen = money::parse_yuan(f.amount.trim()).ok_or(Error::validation("amount", "top-up-amount"))?;
    let placed = billing::top_up(&state.core, c.customer.id, fen, state.core.now()).await?;
    Ok(Redirect::to(&format!("/account/invoices/{}", placed.invoice_id)).into_response())
}
