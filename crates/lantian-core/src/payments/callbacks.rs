//! The gateway's notifications (and the reconciliation's findings, which take the same path).
//!
//! Order of work, each step a lesson from the peers' payment bugs: verify the signature over
//! every received parameter (constant-time, never depending on request data); store the
//! callback redacted to its result fields (privacy policy C1.5), deduplicated by a hash of the
//! canonical payload (a unique key: of two identical callbacks racing, one inserts); check
//! merchant, payment, amount and state and pay the invoice, all in the transaction that
//! records it, guarded by the payment's and the invoice's conditional updates and the unique
//! trade number. If applying fails, the callback is recorded alone and the reconciliation
//! claims and applies it later; only a callback that could not be recorded is answered `fail`.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::gateway::Notification;
use super::repo::{self, NewCallback};
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal, Subject};
use crate::billing;
use crate::db::Tx;
use crate::notify;
use crate::{Core, Result, UnixMs};

/// What the notify endpoint answers: `success` stops the gateway's re-sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Success,
    Fail,
}

impl Answer {
    pub fn body(self) -> &'static str {
        match self {
            Answer::Success => "success",
            Answer::Fail => "fail",
        }
    }
}

/// The only fields of a callback that are stored: the result of the payment. Everything else
/// (V2's `buyer` above all, any field a gateway adds) is dropped before the row is written.
pub const KEPT_FIELDS: [&str; 9] =
    ["pid", "trade_no", "out_trade_no", "type", "money", "trade_status", "api_trade_no", "addtime", "endtime"];

/// A claim older than this is taken over (its worker is presumed gone).
const CLAIM_STALE: Duration = Duration::from_secs(60);

/// Handles one notification with the parameters exactly as received (query or form).
pub async fn handle_notify(core: &Core, params: &BTreeMap<String, String>, now: UnixMs) -> Answer {
    let Some(gateway) = core.payments.as_ref() else { return Answer::Fail };
    let verified = gateway.verify(params, now);
    let kept = kept_json(params);
    let hash = payload_hash(params);
    let outcome = verified.as_ref().err().map(rejection_code);
    let cb = NewCallback {
        payload_hash: &hash,
        source: "notify",
        trade_no: params.get("trade_no").map(|s| clip(s)),
        out_trade_no: params.get("out_trade_no").map(|s| clip(s)),
        fields: &kept,
        state: if outcome.is_some() { "refused" } else { "received" },
        outcome,
        processed_at: None,
    };
    let Ok(notification) = verified else {
        if let Err(e) = repo::record_callback(&core.db, &cb, now).await {
            tracing::error!(error = %e, "refused payment callback not recorded");
        }
        tracing::warn!(outcome = outcome.unwrap_or(""), "payment callback refused");
        return Answer::Fail;
    };
    match record_and_apply(core, &cb, &notification, now).await {
        Ok(()) => Answer::Success,
        // Not applied: record it alone, for the reconciliation to apply later.
        Err(e) => match repo::record_callback(&core.db, &cb, now).await {
            Ok(id) => {
                tracing::warn!(callback = id, error = %e, "payment callback left for the reconciliation");
                Answer::Success
            }
            Err(e) => {
                // Not recorded: the gateway must send it again.
                tracing::error!(error = %e, "payment callback not recorded");
                Answer::Fail
            }
        },
    }
}

/// Applies a new callback and records it with its outcome, in one transaction (one commit: this
/// is what a busy gateway waits for). A repeat of a recorded payload changes nothing: answered
/// from a read when it was recorded before, and rolled back when an identical one was recorded
/// while this one was being applied (the unique payload hash decides which of two counts).
async fn record_and_apply(core: &Core, cb: &NewCallback<'_>, n: &Notification, now: UnixMs) -> Result<()> {
    // The gateway's re-sends are most of the traffic: a read answers them without the writer.
    if repo::callback_recorded(&core.db, cb.payload_hash).await? {
        return Ok(());
    }
    // Read before the transaction, so that SQLite's single writer is held for the changes alone.
    let paying = repo::paying_now(&core.db, &n.out_trade_no).await?;
    let mut tx = core.db.begin().await?;
    let (state, outcome) = apply(&mut tx, core, n, paying, now).await?;
    let done = NewCallback { state, outcome, processed_at: Some(now), ..*cb };
    let Some(id) = repo::insert_callback(&mut tx, &done, now).await? else {
        // Dropped uncommitted: rolled back, as the twin recorded first was applied itself.
        return Ok(());
    };
    if state == "refused" {
        report_refused(&mut tx, core, id, n, outcome, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records what the reconciliation learnt from the gateway's order query, then applies it.
pub async fn record_query_result(core: &Core, n: &Notification, now: UnixMs) -> Result<()> {
    let mut fields = BTreeMap::new();
    fields.insert("trade_no".to_string(), n.trade_no.clone());
    fields.insert("out_trade_no".to_string(), n.out_trade_no.clone());
    fields.insert("money".to_string(), crate::money::format_yuan(n.amount_fen));
    fields.insert("trade_status".to_string(), if n.success { "TRADE_SUCCESS" } else { "" }.to_string());
    let hash = format!("query:{}", payload_hash(&fields));
    let kept = kept_json(&fields);
    let cb = NewCallback {
        payload_hash: &hash,
        source: "query",
        trade_no: Some(&n.trade_no),
        out_trade_no: Some(&n.out_trade_no),
        fields: &kept,
        state: "received",
        outcome: None,
        processed_at: None,
    };
    let id = repo::record_callback(&core.db, &cb, now).await?;
    process(core, id, n, now).await
}

/// Claims the recorded callback and applies it, all in one transaction.
pub(crate) async fn process(core: &Core, id: i64, n: &Notification, now: UnixMs) -> Result<()> {
    let mut tx = core.db.begin().await?;
    if !repo::claim_callback(&mut tx, id, now, now.minus(CLAIM_STALE)).await? {
        // Applied already, or being applied by another worker right now.
        return Ok(());
    }
    finish(&mut tx, core, id, n, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies a recorded callback and sets its final state.
async fn finish(tx: &mut Tx, core: &Core, id: i64, n: &Notification, now: UnixMs) -> Result<()> {
    let paying = repo::paying(tx, &n.out_trade_no).await?;
    let (state, outcome) = apply(tx, core, n, paying, now).await?;
    repo::finish_callback(tx, id, state, outcome, now).await?;
    if state == "refused" {
        report_refused(tx, core, id, n, outcome, now).await?;
    }
    Ok(())
}

/// Money was taken that we do not book: billing staff must look (and refund).
async fn report_refused(
    tx: &mut Tx,
    core: &Core,
    id: i64,
    n: &Notification,
    outcome: Option<&'static str>,
    now: UnixMs,
) -> Result<()> {
    let ev = Event::new("payment.callback_refused").target("payment_callback", id);
    audit::record(tx, &Principal::System, None, ev.reason(outcome.unwrap_or("")), now).await?;
    let args: BTreeMap<String, String> = [
        ("callback".to_string(), id.to_string()),
        ("trade".to_string(), n.out_trade_no.clone()),
        ("why".to_string(), outcome.unwrap_or("").to_string()),
    ]
    .into();
    for member in crate::staff::holders_of(tx, Permission::BillingManage).await? {
        let event = notify::Event::PaymentRefused;
        notify::notify(tx, core, Subject::staff(member), event, args.clone(), now).await?;
    }
    Ok(())
}

/// The checks and the booking, against the payment as read (`paying`). Returns the callback's
/// final state and why. The states read are tested again by the conditional updates, so a
/// payment or invoice that changed since is never booked twice.
async fn apply(
    tx: &mut Tx,
    core: &Core,
    n: &Notification,
    paying: Option<repo::Paying>,
    now: UnixMs,
) -> Result<(&'static str, Option<&'static str>)> {
    if !n.success {
        return Ok(("ignored", Some("not_success")));
    }
    let Some(p) = paying else {
        return Ok(("refused", Some("unknown_payment")));
    };
    if n.amount_fen != p.amount_fen {
        return Ok(("refused", Some("amount_mismatch")));
    }
    if p.state != "started" {
        let same = p.trade_no.as_deref() == Some(n.trade_no.as_str());
        return Ok(if same { ("ignored", Some("duplicate")) } else { ("refused", Some("paid_by_other_trade")) });
    }
    match p.invoice_state.as_str() {
        "unpaid" if p.invoice_amount_fen == p.amount_fen => {}
        "cancelled" => return Ok(("refused", Some("invoice_cancelled"))),
        "paid" => return Ok(("refused", Some("invoice_already_paid"))),
        _ => return Ok(("refused", Some("invoice_mismatch"))),
    }
    if !repo::mark_paid(tx, p.id, &n.trade_no, now).await? {
        return Ok(("ignored", Some("duplicate")));
    }
    let due = billing::Due {
        invoice_id: p.invoice_id,
        account: &p.account_id,
        amount_fen: p.amount_fen,
        top_up: p.invoice_kind == "top_up",
        customer: p.customer_id,
    };
    if !billing::settle_paid(tx, core, &due, now).await? {
        // The invoice changed after it was read: say how.
        let now_state = repo::invoice_state(tx, p.invoice_id).await?;
        let why = if now_state.as_deref() == Some("cancelled") { "invoice_cancelled" } else { "invoice_already_paid" };
        return Ok(("refused", Some(why)));
    }
    Ok(("applied", None))
}

fn rejection_code(r: &super::gateway::Rejection) -> &'static str {
    use super::gateway::Rejection::*;
    match r {
        BadSignature => "bad_signature",
        WrongMerchant => "wrong_merchant",
        BadField(_) => "bad_field",
        Stale => "stale",
    }
}

/// Stored values are cut to a sane length: a forged callback cannot fill the table.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The kept fields as JSON.
pub(crate) fn kept_json(params: &BTreeMap<String, String>) -> String {
    let kept: BTreeMap<&str, &str> = KEPT_FIELDS.iter().filter_map(|k| params.get(*k).map(|v| (*k, clip(v)))).collect();
    serde_json::to_string(&kept).unwrap_or_else(|_| "{}".into())
}

/// SHA-256 over the canonical payload (every parameter, sorted, `k=v` joined by `&`): the same
/// notification sent again hashes the same.
fn payload_hash(params: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in params {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
        h.update(b"&");
    }
    crate::crypto::token::hex(&h.finalize())
}
