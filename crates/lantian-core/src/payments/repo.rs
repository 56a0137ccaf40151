//! The SQL of payments and of the gateway's callbacks.

use serde::Serialize;
use sqlx::FromRow;

use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Payment {
    pub id: i64,
    pub out_trade_no: String,
    pub invoice_id: i64,
    pub channel: String,
    pub amount_fen: i64,
    pub state: String,
    pub trade_no: Option<String>,
    pub refunded_fen: i64,
    pub qr_content: Option<String>,
    pub created_at: UnixMs,
    pub paid_at: Option<UnixMs>,
}

const PAYMENT: &str = "SELECT id, out_trade_no, invoice_id, channel, amount_fen, state, trade_no, refunded_fen, \
     qr_content, created_at, paid_at FROM payments";

pub async fn set_qr(db: &Db, id: i64, content: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE payments SET qr_content = $2 WHERE id = $1";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(SQL).bind(id).bind(content).execute(c).await?.rows_affected());
    tx.commit().await
}

pub async fn insert_payment(
    tx: &mut Tx,
    out_trade_no: &str,
    invoice_id: i64,
    channel: &str,
    amount_fen: i64,
    now: UnixMs,
) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO payments (out_trade_no, invoice_id, channel, amount_fen, state, created_at) \
         VALUES ($1, $2, $3, $4, 'started', $5) RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(out_trade_no).bind(invoice_id).bind(channel).bind(amount_fen).bind(now)
        .fetch_one(c).await)
}

pub async fn payment_by_number(db: &Db, out_trade_no: &str) -> Result<Option<Payment>, sqlx::Error> {
    let sql = format!("{PAYMENT} WHERE out_trade_no = $1");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(out_trade_no).fetch_optional(c).await)
}

/// A payment with what a notification is checked against: its invoice and order.
#[derive(Debug, Clone, FromRow)]
pub struct Paying {
    pub id: i64,
    pub amount_fen: i64,
    pub state: String,
    pub trade_no: Option<String>,
    pub invoice_id: i64,
    pub invoice_state: String,
    pub invoice_amount_fen: i64,
    pub account_id: String,
    /// `services` or `top_up`.
    pub invoice_kind: String,
    /// None once the customer's account was erased.
    pub customer_id: Option<i64>,
}

const PAYING: &str = "SELECT p.id, p.amount_fen, p.state, p.trade_no, p.invoice_id, i.state AS invoice_state, \
     i.amount_fen AS invoice_amount_fen, i.account_id, i.kind AS invoice_kind, a.customer_id \
     FROM payments p JOIN invoices i ON i.id = p.invoice_id \
     JOIN billing_accounts a ON a.id = i.account_id WHERE p.out_trade_no = $1";

/// The payment `out_trade_no` names, read in the caller's transaction.
pub async fn paying(tx: &mut Tx, out_trade_no: &str) -> Result<Option<Paying>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as(PAYING).bind(out_trade_no).fetch_optional(c).await)
}

/// [`paying`] read before the transaction, off SQLite's single writer: what it says of states
/// is checked again by the conditional updates that change them.
pub async fn paying_now(db: &Db, out_trade_no: &str) -> Result<Option<Paying>, sqlx::Error> {
    on_read!(db, c => sqlx::query_as(PAYING).bind(out_trade_no).fetch_optional(c).await)
}

/// The invoice's state now, in the caller's transaction.
pub async fn invoice_state(tx: &mut Tx, invoice_id: i64) -> Result<Option<String>, sqlx::Error> {
    const SQL: &str = "SELECT state FROM invoices WHERE id = $1";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(invoice_id).fetch_optional(c).await)
}

pub async fn payment(db: &Db, id: i64) -> Result<Option<Payment>, sqlx::Error> {
    let sql = format!("{PAYMENT} WHERE id = $1");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await)
}

pub async fn payments_of_invoice(db: &Db, invoice_id: i64) -> Result<Vec<Payment>, sqlx::Error> {
    let sql = format!("{PAYMENT} WHERE invoice_id = $1 ORDER BY id DESC LIMIT 50");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(invoice_id).fetch_all(c).await)
}

/// Payments started in [from, to) and not paid: the reconciliation asks the gateway about them.
pub async fn unpaid_started(db: &Db, from: UnixMs, to: UnixMs, limit: i64) -> Result<Vec<Payment>, sqlx::Error> {
    let sql =
        format!("{PAYMENT} WHERE state = 'started' AND created_at >= $1 AND created_at < $2 ORDER BY id LIMIT $3");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).bind(limit).fetch_all(c).await)
}

/// started → paid with the gateway's trade number, once. False when it was already paid; a
/// trade number already used by another payment fails on its unique constraint.
pub async fn mark_paid(tx: &mut Tx, id: i64, trade_no: &str, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str =
        "UPDATE payments SET state = 'paid', trade_no = $2, paid_at = $3 WHERE id = $1 AND state = 'started'";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(trade_no).bind(now).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn add_refund(tx: &mut Tx, id: i64, amount_fen: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE payments SET refunded_fen = refunded_fen + $2, \
         state = CASE WHEN refunded_fen + $2 = amount_fen THEN 'refunded' ELSE state END \
         WHERE id = $1 AND state = 'paid' AND refunded_fen + $2 <= amount_fen";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(amount_fen).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub struct NewCallback<'a> {
    pub payload_hash: &'a str,
    pub source: &'static str,
    pub trade_no: Option<&'a str>,
    pub out_trade_no: Option<&'a str>,
    pub fields: &'a str,
    pub state: &'static str,
    pub outcome: Option<&'static str>,
    /// When it was applied, if it is recorded with its final state.
    pub processed_at: Option<UnixMs>,
}

pub async fn callback_recorded(db: &Db, payload_hash: &str) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM payment_callbacks WHERE payload_hash = $1";
    let n: i64 = on_read!(db, c => sqlx::query_scalar(SQL).bind(payload_hash).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Records a new callback in the caller's transaction; None when the same payload was recorded
/// before (a repeat).
pub async fn insert_callback(tx: &mut Tx, cb: &NewCallback<'_>, now: UnixMs) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO payment_callbacks (payload_hash, source, trade_no, out_trade_no, fields, state, \
         outcome, received_at, processed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (payload_hash) DO NOTHING RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(cb.payload_hash).bind(cb.source).bind(cb.trade_no).bind(cb.out_trade_no).bind(cb.fields)
        .bind(cb.state).bind(cb.outcome).bind(now).bind(cb.processed_at)
        .fetch_optional(c).await)
}

/// Records a callback unless the same payload was recorded before; its id either way.
pub async fn record_callback(db: &Db, cb: &NewCallback<'_>, now: UnixMs) -> Result<i64, sqlx::Error> {
    const INSERT: &str = "INSERT INTO payment_callbacks (payload_hash, source, trade_no, out_trade_no, fields, state, \
         outcome, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (payload_hash) DO NOTHING";
    const SELECT: &str = "SELECT id FROM payment_callbacks WHERE payload_hash = $1";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(INSERT)
        .bind(cb.payload_hash).bind(cb.source).bind(cb.trade_no).bind(cb.out_trade_no).bind(cb.fields)
        .bind(cb.state).bind(cb.outcome).bind(now)
        .execute(&mut *c).await?.rows_affected());
    let id = on_tx!(&mut tx, c => sqlx::query_scalar(SELECT).bind(cb.payload_hash).fetch_one(c).await)?;
    tx.commit().await?;
    Ok(id)
}

/// Takes a recorded callback for processing: one taker wins; a taker that vanished (its claim
/// older than `stale_before`) is taken over.
pub async fn claim_callback(tx: &mut Tx, id: i64, now: UnixMs, stale_before: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE payment_callbacks SET state = 'processing', claimed_at = $2, attempts = attempts + 1 \
         WHERE id = $1 AND (state = 'received' OR (state = 'processing' AND claimed_at < $3))";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(now).bind(stale_before).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn finish_callback(
    tx: &mut Tx,
    id: i64,
    state: &'static str,
    outcome: Option<&'static str>,
    now: UnixMs,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE payment_callbacks SET state = $2, outcome = $3, processed_at = $4 WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(state).bind(outcome).bind(now).execute(c).await?.rows_affected());
    Ok(())
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Callback {
    pub id: i64,
    pub source: String,
    pub trade_no: Option<String>,
    pub out_trade_no: Option<String>,
    pub fields: String,
    pub state: String,
    pub outcome: Option<String>,
    pub attempts: i64,
    pub received_at: UnixMs,
    pub processed_at: Option<UnixMs>,
}

const CALLBACK: &str = "SELECT id, source, trade_no, out_trade_no, fields, state, outcome, attempts, received_at, \
     processed_at FROM payment_callbacks";

/// Callbacks left unprocessed: recorded but never claimed, or claimed by a taker that vanished.
pub async fn unfinished_callbacks(db: &Db, stale_before: UnixMs, limit: i64) -> Result<Vec<Callback>, sqlx::Error> {
    let sql = format!(
        "{CALLBACK} WHERE (state = 'received' AND received_at < $1) OR (state = 'processing' AND claimed_at < $1) \
         ORDER BY id LIMIT $2"
    );
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(stale_before).bind(limit).fetch_all(c).await)
}

/// The console's list, newest first.
pub async fn callbacks(db: &Db, before_id: i64, limit: i64) -> Result<Vec<Callback>, sqlx::Error> {
    let sql = format!("{CALLBACK} WHERE id < $1 ORDER BY id DESC LIMIT $2");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(before_id).bind(limit).fetch_all(c).await)
}

/// Gives back a refund reserved by `add_refund` whose gateway call failed.
pub async fn undo_refund(tx: &mut Tx, id: i64, amount_fen: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE payments SET refunded_fen = refunded_fen - $2, state = 'paid' \
         WHERE id = $1 AND refunded_fen >= $2";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(amount_fen).execute(c).await?.rows_affected());
    Ok(())
}
