//! Payments through the gateway: starting one, the gateway's notifications, reconciliation
//! and refunds. The gateway client itself sits behind [`gateway::PaymentGateway`]; CooPay
//! (EPay-compatible) implements it in `coopay/`.

pub mod callbacks;
pub mod coopay;
pub mod gateway;
pub mod reconcile;
mod refund;
pub(crate) mod repo;
pub mod start;

pub use callbacks::{Answer, handle_notify};
pub use reconcile::reconcile;
pub use refund::refund_via_gateway;
pub use repo::{Callback, Payment};
pub use start::{Mode, Started, payment_of, start};

use crate::authz::{Permission, Principal};
use crate::{Core, Result};

/// The console's list of callbacks with their processing state.
pub async fn callbacks(core: &Core, who: &Principal, before_id: i64) -> Result<Vec<Callback>> {
    who.require(Permission::BillingManage)?;
    let before = if before_id <= 0 { i64::MAX } else { before_id };
    Ok(repo::callbacks(&core.db, before, crate::billing::CONSOLE_PAGE).await?)
}

/// The payments of an invoice (console and the customer's invoice page).
pub async fn of_invoice(core: &Core, invoice_id: i64) -> Result<Vec<Payment>> {
    Ok(repo::payments_of_invoice(&core.db, invoice_id).await?)
}

/// The invoice a payment number belongs to (the browser's return from the cashier).
pub async fn invoice_of_payment(core: &Core, out_trade_no: &str) -> Result<Option<i64>> {
    Ok(repo::payment_by_number(&core.db, out_trade_no).await?.map(|p| p.invoice_id))
}
