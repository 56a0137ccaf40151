//! Orders, invoices (账单), coupons and the account balance.
//!
//! Every purchase records an order with what was bought, for how long and for how much
//! (privacy policy C1.4); orders and invoices are never deleted. They, and the ledger, name a
//! pseudonymous billing account rather than the customer (ARCHITECTURE §5), so they can be kept
//! after the customer's account is erased. Money is integer fen throughout (`crate::money`).

mod cart;
mod checkout;
mod coupons;
mod renewal;
pub(crate) mod repo;
mod settle;

use std::time::Duration;

use async_trait::async_trait;

pub use cart::{CartLine, add as add_to_cart, cart, checkout_cart, remove as remove_from_cart};
pub use checkout::{CheckoutInput, Item, MAX_ITEMS, Placed, checkout, may_buy, top_up};
pub use coupons::{CouponInput, coupons, create_coupon};
pub use renewal::{Prices, Renewable};
pub(crate) use renewal::{issue_renewal, issue_renewals};
pub use repo::{CouponRow, Invoice, InvoiceLine, LedgerRow};
pub(crate) use settle::cancel_in as cancel_invoice_in;
pub use settle::{
    CancelUnpaid, Due, adjust_balance, cancel_order, cancel_stale_orders, checked_reason, pay_with_balance,
    refund_to_balance, settle_paid,
};

use crate::authz::{Permission, Principal};
use crate::db::Db;
use crate::jobs::PeriodicTask;
use crate::{Core, Error, Result};

/// Page size of the invoice and ledger lists.
pub const PAGE: i64 = 20;

/// Page size of the console's billing lists (invoices, callbacks).
pub const CONSOLE_PAGE: i64 = 50;

/// The billing account of a customer, if they ever checked out: (pseudonym, balance in fen).
pub async fn account(db: &Db, customer_id: i64) -> Result<Option<(String, i64)>> {
    Ok(repo::account_of(db, customer_id).await?)
}

/// One page of the customer's invoices, newest first; `before_id` pages (0: the first page).
pub async fn invoices(db: &Db, customer_id: i64, before_id: i64) -> Result<Vec<Invoice>> {
    let Some((account, _)) = repo::account_of(db, customer_id).await? else { return Ok(Vec::new()) };
    Ok(repo::invoice_page(db, &account, first_page(before_id), PAGE).await?)
}

/// One page of the customer's ledger, newest first.
pub async fn ledger(db: &Db, customer_id: i64, before_id: i64) -> Result<Vec<LedgerRow>> {
    let Some((account, _)) = repo::account_of(db, customer_id).await? else { return Ok(Vec::new()) };
    Ok(repo::ledger_page(db, &account, first_page(before_id), PAGE).await?)
}

fn first_page(before_id: i64) -> i64 {
    if before_id <= 0 { i64::MAX } else { before_id }
}

/// An invoice of this customer. Another customer's invoice is "not found", never "forbidden":
/// the answer must not tell that the number exists.
pub async fn invoice_of(db: &Db, customer_id: i64, invoice_id: i64) -> Result<Invoice> {
    let invoice = repo::invoice(db, invoice_id).await?.ok_or(Error::NotFound)?;
    match repo::account_of(db, customer_id).await? {
        Some((account, _)) if account == invoice.account_id => Ok(invoice),
        _ => Err(Error::NotFound),
    }
}

/// The lines of an invoice the caller may already see (checked by `invoice_of` or staff).
pub async fn lines(db: &Db, invoice_id: i64) -> Result<Vec<InvoiceLine>> {
    Ok(repo::lines(db, invoice_id).await?)
}

/// The console's invoice list.
pub async fn all_invoices(db: &Db, who: &Principal, state: Option<&str>, before_id: i64) -> Result<Vec<Invoice>> {
    who.require(Permission::BillingManage)?;
    Ok(repo::all_invoices(db, state, first_page(before_id), CONSOLE_PAGE).await?)
}

pub async fn invoice_for_staff(db: &Db, who: &Principal, invoice_id: i64) -> Result<Invoice> {
    who.require(Permission::BillingManage)?;
    repo::invoice(db, invoice_id).await?.ok_or(Error::NotFound)
}

/// The sum of an account's ledger, which must always equal its balance.
pub async fn ledger_sum(db: &Db, account: &str) -> Result<i64> {
    Ok(repo::ledger_sum(db, account).await?)
}

/// The periodic task `billing.cancel_unpaid` (hourly).
pub fn cancel_unpaid_task() -> PeriodicTask {
    PeriodicTask::new("billing.cancel_unpaid", Duration::from_secs(3600), CancelUnpaid)
}

#[async_trait]
impl crate::jobs::Periodic for CancelUnpaid {
    async fn run(&self, core: &Core) -> Result<()> {
        cancel_stale_orders(core, core.now()).await.map(|_| ())
    }
}
