//! Money moving: an invoice paid (from the balance or through the gateway), a balance top-up,
//! refunds and staff adjustments, unpaid orders cancelled. Each is one transaction whose
//! conditional updates make it happen at most once, however many callers race.

use std::time::Duration;

use super::repo::{self, LedgerEntry};
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal, Subject};
use crate::catalog::repo as catalog_repo;
use crate::db::Tx;
use crate::notify;
use crate::{Core, Error, Result, UnixMs};

/// An invoice about to be paid, as the caller already read it.
#[derive(Debug, Clone, Copy)]
pub struct Due<'a> {
    pub invoice_id: i64,
    pub account: &'a str,
    pub amount_fen: i64,
    /// A balance top-up: paying it credits the balance.
    pub top_up: bool,
    /// Who to tell; None once the customer's account was erased.
    pub customer: Option<i64>,
}

/// Marks the invoice paid (`via`: `balance` or `gateway`) in the caller's transaction; a paid
/// top-up credits the balance. False when the invoice was not unpaid: nothing changed.
/// The customer is told (a billing notice: e-mail unless they turned it off, and in-site).
pub(crate) async fn settle(tx: &mut Tx, core: &Core, due: &Due<'_>, via: &'static str, now: UnixMs) -> Result<bool> {
    let Some(paid) = repo::mark_invoice_paid(tx, due.invoice_id, via, now).await? else {
        return Ok(false);
    };
    if due.top_up {
        credit(tx, due.account, "top_up", due.amount_fen, Some(due.invoice_id), None, None, now).await?;
    } else {
        // The servers bought become services, each with its `provision` job, in this same
        // transaction: paid and queued together, or neither.
        crate::provisioning::on_paid(tx, core, due.invoice_id, paid.renews, now).await?;
    }
    if let Some(customer) = due.customer {
        let amount = format!("¥{}", crate::money::format_yuan(due.amount_fen));
        let args = [("number".to_string(), paid.number), ("amount".to_string(), amount)].into();
        notify::notify(tx, core, Subject::customer(customer), notify::Event::InvoicePaid, args, now).await?;
    }
    Ok(true)
}

/// For payments: settles an invoice paid through the gateway, in the payment's transaction.
pub async fn settle_paid(tx: &mut Tx, core: &Core, due: &Due<'_>, now: UnixMs) -> Result<bool> {
    settle(tx, core, due, "gateway", now).await
}

#[allow(clippy::too_many_arguments)]
async fn credit(
    tx: &mut Tx,
    account: &str,
    kind: &'static str,
    amount_fen: i64,
    invoice_id: Option<i64>,
    staff_id: Option<i64>,
    reason: Option<&str>,
    now: UnixMs,
) -> Result<i64> {
    let balance_after = repo::move_balance(tx, account, amount_fen)
        .await?
        .ok_or(Error::validation("amount", "balance-insufficient"))?;
    let entry = LedgerEntry { account, kind, amount_fen, balance_after, invoice_id, staff_id, reason };
    repo::insert_ledger(tx, &entry, now).await?;
    Ok(balance_after)
}

/// Pays the customer's unpaid invoice from their balance. The balance never goes negative, even
/// when several payments race: the debit is one conditional update.
pub async fn pay_with_balance(core: &Core, customer_id: i64, invoice_id: i64, now: UnixMs) -> Result<()> {
    let invoice = super::invoice_of(&core.db, customer_id, invoice_id).await?;
    if invoice.state != "unpaid" {
        return Err(Error::Conflict("invoice-not-unpaid"));
    }
    if invoice.kind == "top_up" {
        return Err(Error::validation("invoice", "top-up-needs-gateway"));
    }
    let mut tx = core.db.begin().await?;
    if invoice.amount_fen > 0 {
        let amount = -invoice.amount_fen;
        credit(&mut tx, &invoice.account_id, "payment", amount, Some(invoice_id), None, None, now).await?;
    }
    let due = Due {
        invoice_id,
        account: &invoice.account_id,
        amount_fen: invoice.amount_fen,
        top_up: false,
        customer: Some(customer_id),
    };
    if !settle(&mut tx, core, &due, "balance", now).await? {
        // Paid or cancelled meanwhile: the debit above is rolled back with the transaction.
        return Err(Error::Conflict("invoice-not-unpaid"));
    }
    tx.commit().await?;
    Ok(())
}

/// The customer withdraws their own unpaid invoice and its orders.
pub async fn cancel_order(core: &Core, customer_id: i64, invoice_id: i64, now: UnixMs) -> Result<()> {
    super::invoice_of(&core.db, customer_id, invoice_id).await?;
    let mut tx = core.db.begin().await?;
    if !cancel_in(&mut tx, invoice_id, now).await? {
        return Err(Error::Conflict("invoice-not-unpaid"));
    }
    tx.commit().await?;
    Ok(())
}

/// Cancels an unpaid invoice and its orders: new servers back in stock, the coupon use back.
pub(crate) async fn cancel_in(tx: &mut Tx, invoice_id: i64, now: UnixMs) -> Result<bool> {
    let Some(orders) = repo::cancel_invoice(tx, invoice_id, now).await? else { return Ok(false) };
    for order in orders {
        if let ("new", Some(plan), Some(region)) = (order.kind.as_str(), order.plan_id, order.region_id) {
            catalog_repo::give_back_stock(tx, plan, region).await?;
        }
        if let Some(coupon) = order.coupon_id {
            repo::release_coupon(tx, coupon, order.id).await?;
        }
    }
    Ok(true)
}

/// The periodic task's marker type (`billing.cancel_unpaid`).
pub struct CancelUnpaid;

/// Cancels invoices (and their orders) unpaid for `billing.cancel_unpaid_after_days`; returns
/// how many invoices.
pub async fn cancel_stale_orders(core: &Core, now: UnixMs) -> Result<usize> {
    let days = u64::from(core.config.billing.cancel_unpaid_after_days);
    let before = now.minus(Duration::from_secs(days * 86_400));
    let mut cancelled = 0;
    loop {
        let ids = repo::stale_unpaid_invoices(&core.db, before, 100).await?;
        if ids.is_empty() {
            return Ok(cancelled);
        }
        for id in ids {
            let mut tx = core.db.begin().await?;
            if cancel_in(&mut tx, id, now).await? {
                let ev = Event::new("billing.invoice_cancel_unpaid").target("invoice", id);
                audit::record(&mut tx, &Principal::System, None, ev, now).await?;
                cancelled += 1;
            }
            tx.commit().await?;
        }
    }
}

/// A staff adjustment of a customer's balance, with the reason in the ledger and the audit.
pub async fn adjust_balance(
    core: &Core,
    who: &Principal,
    customer_id: i64,
    delta_fen: i64,
    reason: &str,
    now: UnixMs,
) -> Result<i64> {
    who.require(Permission::BillingManage)?;
    let Principal::Staff { id: staff_id, .. } = who else { return Err(Error::Forbidden) };
    let reason = checked_reason(reason)?;
    if delta_fen == 0 || delta_fen.abs() > 100_000_000 {
        return Err(Error::validation("amount", "adjust-amount"));
    }
    let mut tx = core.db.begin().await?;
    let account = repo::ensure_account(&mut tx, customer_id, &super::checkout::new_account_id(), now).await?;
    let balance = credit(&mut tx, &account, "adjustment", delta_fen, None, Some(*staff_id), Some(reason), now).await?;
    let ev = Event::new("billing.balance_adjust").target("billing_account", &account).fields(&["balance_fen"]);
    audit::record(&mut tx, who, None, ev.reason(reason), now).await?;
    tx.commit().await?;
    Ok(balance)
}

/// Staff refund part or all of a paid invoice to the customer's balance.
pub async fn refund_to_balance(
    core: &Core,
    who: &Principal,
    invoice_id: i64,
    amount_fen: i64,
    reason: &str,
    now: UnixMs,
) -> Result<()> {
    who.require(Permission::BillingManage)?;
    let Principal::Staff { id: staff_id, .. } = who else { return Err(Error::Forbidden) };
    let reason = checked_reason(reason)?;
    if amount_fen <= 0 {
        return Err(Error::validation("amount", "refund-amount"));
    }
    let mut tx = core.db.begin().await?;
    let invoice = repo::invoice_in(&mut tx, invoice_id).await?.ok_or(Error::NotFound)?;
    if !repo::add_invoice_refund(&mut tx, invoice_id, amount_fen).await? {
        return Err(Error::validation("amount", "refund-amount"));
    }
    let account = invoice.account_id.as_str();
    credit(&mut tx, account, "refund", amount_fen, Some(invoice_id), Some(*staff_id), Some(reason), now).await?;
    let ev = Event::new("billing.refund_to_balance").target("invoice", invoice_id).fields(&["refunded_fen"]);
    audit::record(&mut tx, who, None, ev.reason(reason), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Staff give a reason for every manual movement of money (not personal data: it is kept).
pub fn checked_reason(reason: &str) -> Result<&str> {
    let reason = reason.trim();
    let n = reason.chars().count();
    if !(4..=200).contains(&n) || reason.chars().any(char::is_control) {
        return Err(Error::validation("reason", "reason"));
    }
    Ok(reason)
}
