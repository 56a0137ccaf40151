//! The gateway's side: its server-to-server notification (GET or POST form, signed) and the
//! customer's browser coming back from the cashier, which only shows the state and never pays.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use lantian_core::payments;

use crate::AppState;

/// Parameters as the gateway sent them; repeated keys keep the last value (they are not
/// part of the protocol, and the signature then fails).
type Params = BTreeMap<String, String>;

pub async fn notify(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    answer(&state, &params).await
}

pub async fn notify_form(State(state): State<AppState>, Form(params): Form<Params>) -> Response {
    answer(&state, &params).await
}

async fn answer(state: &AppState, params: &Params) -> Response {
    let answer = payments::handle_notify(&state.core, params, state.core.now()).await;
    // The gateway reads the body: exactly `success` or `fail`, as plain text, status 200.
    ([(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], answer.body()).into_response()
}

/// The browser's return from the cashier: back to the invoice the payment belongs to. What the
/// query says is not trusted; the invoice page shows what the notification established.
pub async fn browser_return(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    let invoice = match params.get("out_trade_no") {
        Some(out) => payments::invoice_of_payment(&state.core, out).await.ok().flatten(),
        None => None,
    };
    match invoice {
        Some(id) => Redirect::to(&format!("/account/invoices/{id}")).into_response(),
        None => Redirect::to("/account/invoices").into_response(),
    }
}
