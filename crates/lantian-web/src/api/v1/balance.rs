//! The customer's balance and its ledger over the API, in fen.

use axum::Json;
use axum::extract::{Query, State};
use lantian_core::apitokens::Scope;
use lantian_core::billing::{self, LedgerRow};
use serde::Serialize;
use utoipa::ToSchema;

use super::billing::{BeforeQuery, next_before};
use super::customer;
use super::me::ApiCaller;
use crate::AppState;
use crate::error::WebError;

#[derive(Serialize, ToSchema)]
pub struct LedgerOut {
    id: i64,
    /// `top_up`, `payment`, `refund` or `adjustment`.
    kind: String,
    /// Signed: negative when money left the balance.
    amount_fen: i64,
    balance_after_fen: i64,
    invoice_id: Option<i64>,
    /// Why staff moved the money, for refunds and adjustments.
    reason: Option<String>,
    created_at: i64,
}

impl From<LedgerRow> for LedgerOut {
    fn from(r: LedgerRow) -> Self {
        LedgerOut {
            id: r.id,
            kind: r.kind,
            amount_fen: r.amount_fen,
            balance_after_fen: r.balance_after,
            invoice_id: r.invoice_id,
            reason: r.reason,
            created_at: r.created_at.0,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BalanceOut {
    balance_fen: i64,
    /// The movements of the balance, newest first, 20 a page.
    ledger: Vec<LedgerOut>,
    /// Pass as `before` to get the next page of the ledger; null on the last page.
    next_before: Option<i64>,
}

/// The caller's balance and a page of its ledger.
#[utoipa::path(
    get,
    path = "/api/v1/balance",
    params(BeforeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The balance", body = BalanceOut),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`before` is negative", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "billing"
)]
pub async fn balance(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<BeforeQuery>,
) -> Result<Json<BalanceOut>, WebError> {
    let customer_id = customer(&caller, Scope::Read)?;
    let before = q.checked()?;
    // A customer who never bought has no billing account yet: a balance of nothing.
    let balance_fen = billing::account(&state.core.db, customer_id).await?.map_or(0, |(_, b)| b);
    let rows = billing::ledger(&state.core.db, customer_id, before).await?;
    let next_before = next_before(rows.len(), rows.last().map(|r| r.id));
    Ok(Json(BalanceOut { balance_fen, ledger: rows.into_iter().map(LedgerOut::from).collect(), next_before }))
}
