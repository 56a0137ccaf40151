//! Staff refunds through the gateway (refunds to the balance are `billing::refund_to_balance`).
//! The refund is reserved first, so two staff members cannot refund the same money twice; a
//! failed gateway call gives the reservation back.

use super::repo;
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal};
use crate::{Core, Error, Result, UnixMs, billing};

pub async fn refund_via_gateway(
    core: &Core,
    who: &Principal,
    payment_id: i64,
    amount_fen: i64,
    reason: &str,
    now: UnixMs,
) -> Result<()> {
    who.require(Permission::BillingManage)?;
    let reason = billing::checked_reason(reason)?;
    let gateway = core.payments.clone().ok_or(Error::validation("payment", "payments-unavailable"))?;
    let payment = repo::payment(&core.db, payment_id).await?.ok_or(Error::NotFound)?;
    let trade_no = payment.trade_no.clone().ok_or(Error::validation("payment", "refund-unpaid"))?;
    if amount_fen <= 0 {
        return Err(Error::validation("amount", "refund-amount"));
    }
    let mut tx = core.db.begin().await?;
    if !repo::add_refund(&mut tx, payment.id, amount_fen).await?
        || !billing::repo::add_invoice_refund(&mut tx, payment.invoice_id, amount_fen).await?
    {
        return Err(Error::validation("amount", "refund-amount"));
    }
    tx.commit().await?;
    if let Err(e) = gateway.refund(&trade_no, amount_fen, now).await {
        let mut tx = core.db.begin().await?;
        repo::undo_refund(&mut tx, payment.id, amount_fen).await?;
        billing::repo::add_invoice_refund_undo(&mut tx, payment.invoice_id, amount_fen).await?;
        tx.commit().await?;
        return Err(Error::Upstream(e.to_string()));
    }
    let mut tx = core.db.begin().await?;
    let ev = Event::new("payment.refund").target("payment", payment.id).fields(&["refunded_fen"]);
    audit::record(&mut tx, who, None, ev.reason(reason), now).await?;
    tx.commit().await?;
    Ok(())
}
