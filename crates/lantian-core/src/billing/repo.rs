//! The SQL of billing: accounts and ledger, orders, invoices, coupons, counters.

use serde::Serialize;
use sqlx::FromRow;

use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

/// What checkout needs to know about the buyer.
#[derive(Debug, Clone, FromRow)]
pub struct Buyer {
    pub username: String,
    pub email_verified_at: Option<UnixMs>,
    pub real_name_verified_at: Option<UnixMs>,
    pub age_bracket: String,
}

pub async fn buyer(tx: &mut Tx, customer_id: i64) -> Result<Option<Buyer>, sqlx::Error> {
    const SQL: &str =
        "SELECT username, email_verified_at, real_name_verified_at, age_bracket FROM customers WHERE id = $1";
    on_tx!(tx, c => sqlx::query_as(SQL).bind(customer_id).fetch_optional(c).await)
}

pub async fn account_of(db: &Db, customer_id: i64) -> Result<Option<(String, i64)>, sqlx::Error> {
    const SQL: &str = "SELECT id, balance_fen FROM billing_accounts WHERE customer_id = $1";
    on_read!(db, c => sqlx::query_as(SQL).bind(customer_id).fetch_optional(c).await)
}

/// The customer's billing account, created with `new_id` if there is none yet.
pub async fn ensure_account(tx: &mut Tx, customer_id: i64, new_id: &str, now: UnixMs) -> Result<String, sqlx::Error> {
    const INSERT: &str = "INSERT INTO billing_accounts (id, customer_id, balance_fen, created_at) VALUES ($1, $2, 0, $3) \
         ON CONFLICT (customer_id) DO NOTHING";
    const SELECT: &str = "SELECT id FROM billing_accounts WHERE customer_id = $1";
    on_tx!(tx, c => sqlx::query(INSERT).bind(new_id).bind(customer_id).bind(now).execute(&mut *c).await?.rows_affected());
    on_tx!(tx, c => sqlx::query_scalar(SELECT).bind(customer_id).fetch_one(c).await)
}

/// Moves the balance by `delta` unless it would go negative; the new balance, or None.
pub async fn move_balance(tx: &mut Tx, account: &str, delta: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE billing_accounts SET balance_fen = balance_fen + $1 \
         WHERE id = $2 AND balance_fen + $1 >= 0 RETURNING balance_fen";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(delta).bind(account).fetch_optional(c).await)
}

pub struct LedgerEntry<'a> {
    pub account: &'a str,
    pub kind: &'static str,
    pub amount_fen: i64,
    pub balance_after: i64,
    pub invoice_id: Option<i64>,
    pub staff_id: Option<i64>,
    pub reason: Option<&'a str>,
}

pub async fn insert_ledger(tx: &mut Tx, e: &LedgerEntry<'_>, now: UnixMs) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO ledger (account_id, kind, amount_fen, balance_after, invoice_id, staff_id, reason, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_tx!(tx, c => sqlx::query(SQL)
        .bind(e.account).bind(e.kind).bind(e.amount_fen).bind(e.balance_after).bind(e.invoice_id)
        .bind(e.staff_id).bind(e.reason).bind(now)
        .execute(c).await?.rows_affected());
    Ok(())
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct LedgerRow {
    pub id: i64,
    pub kind: String,
    pub amount_fen: i64,
    pub balance_after: i64,
    pub invoice_id: Option<i64>,
    pub reason: Option<String>,
    pub created_at: UnixMs,
}

/// One page of an account's ledger, newest first, keyset-paged by id.
pub async fn ledger_page(db: &Db, account: &str, before_id: i64, limit: i64) -> Result<Vec<LedgerRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, kind, amount_fen, balance_after, invoice_id, reason, created_at FROM ledger \
         WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
    on_read!(db, c => sqlx::query_as(SQL).bind(account).bind(before_id).bind(limit).fetch_all(c).await)
}

pub async fn ledger_sum(db: &Db, account: &str) -> Result<i64, sqlx::Error> {
    // SUM of BIGINT is NUMERIC on PostgreSQL: cast back.
    const SQL: &str = "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM ledger WHERE account_id = $1";
    let sum: i64 = on_read!(db, c => sqlx::query_scalar(SQL).bind(account).fetch_one(c).await)?;
    Ok(sum)
}

/// The next number of counter `name`, in the caller's transaction: a rolled-back
/// transaction gives its number back, so the numbers have no gaps.
pub async fn next_number(tx: &mut Tx, name: &str) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(name).fetch_one(c).await)
}

pub struct NewOrder<'a> {
    pub account: &'a str,
    pub kind: &'static str,
    pub plan_id: Option<i64>,
    pub region_id: Option<i64>,
    pub os_image: Option<&'a str>,
    pub cycle: Option<&'static str>,
    pub months: i64,
    pub coupon_id: Option<i64>,
    pub discount_fen: i64,
    pub amount_fen: i64,
}

impl<'a> NewOrder<'a> {
    /// An order for balance: no plan, no region, no duration.
    pub fn top_up(account: &'a str, amount_fen: i64) -> NewOrder<'a> {
        NewOrder {
            account,
            kind: "top_up",
            plan_id: None,
            region_id: None,
            os_image: None,
            cycle: None,
            months: 0,
            coupon_id: None,
            discount_fen: 0,
            amount_fen,
        }
    }
}

pub async fn insert_order(tx: &mut Tx, o: &NewOrder<'_>, now: UnixMs) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO orders (account_id, kind, plan_id, region_id, os_image, cycle, months, coupon_id, \
         discount_fen, amount_fen, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11) \
         RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(o.account).bind(o.kind).bind(o.plan_id).bind(o.region_id).bind(o.os_image).bind(o.cycle)
        .bind(o.months).bind(o.coupon_id).bind(o.discount_fen).bind(o.amount_fen).bind(now)
        .fetch_one(c).await)
}

pub struct NewInvoice<'a> {
    pub number: &'a str,
    pub order_id: i64,
    pub account: &'a str,
    pub buyer_username: &'a str,
    pub item_zh: &'a str,
    pub item_en: &'a str,
    pub price_fen: i64,
    pub discount_fen: i64,
    pub amount_fen: i64,
}

pub async fn insert_invoice(tx: &mut Tx, i: &NewInvoice<'_>, now: UnixMs) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO invoices (number, order_id, account_id, buyer_username, item_zh, item_en, price_fen, \
         discount_fen, amount_fen, state, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'unpaid', $10) \
         RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(i.number).bind(i.order_id).bind(i.account).bind(i.buyer_username).bind(i.item_zh).bind(i.item_en)
        .bind(i.price_fen).bind(i.discount_fen).bind(i.amount_fen).bind(now)
        .fetch_one(c).await)
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub number: String,
    pub order_id: i64,
    pub account_id: String,
    pub buyer_username: String,
    pub item_zh: String,
    pub item_en: String,
    pub price_fen: i64,
    pub discount_fen: i64,
    pub amount_fen: i64,
    pub state: String,
    pub paid_via: Option<String>,
    pub refunded_fen: i64,
    pub issued_at: UnixMs,
    pub paid_at: Option<UnixMs>,
    pub cancelled_at: Option<UnixMs>,
    pub order_kind: String,
}

macro_rules! invoice_select {
    () => {
        "SELECT i.id, i.number, i.order_id, i.account_id, i.buyer_username, i.item_zh, i.item_en, i.price_fen, \
         i.discount_fen, i.amount_fen, i.state, i.paid_via, i.refunded_fen, i.issued_at, i.paid_at, i.cancelled_at, \
         o.kind AS order_kind FROM invoices i JOIN orders o ON o.id = i.order_id"
    };
}

pub async fn invoice(db: &Db, id: i64) -> Result<Option<Invoice>, sqlx::Error> {
    const SQL: &str = concat!(invoice_select!(), " WHERE i.id = $1");
    on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

pub async fn invoice_in(tx: &mut Tx, id: i64) -> Result<Option<Invoice>, sqlx::Error> {
    const SQL: &str = concat!(invoice_select!(), " WHERE i.id = $1");
    on_tx!(tx, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

/// One page of an account's invoices, newest first (one query, whatever the account's size).
pub async fn invoice_page(db: &Db, account: &str, before_id: i64, limit: i64) -> Result<Vec<Invoice>, sqlx::Error> {
    const SQL: &str = concat!(invoice_select!(), " WHERE i.account_id = $1 AND i.id < $2 ORDER BY i.id DESC LIMIT $3");
    on_read!(db, c => sqlx::query_as(SQL).bind(account).bind(before_id).bind(limit).fetch_all(c).await)
}

/// The console's list: every account, optionally one state, newest first.
pub async fn all_invoices(
    db: &Db,
    state: Option<&str>,
    before_id: i64,
    limit: i64,
) -> Result<Vec<Invoice>, sqlx::Error> {
    const SQL: &str =
        concat!(invoice_select!(), " WHERE ($1 IS NULL OR i.state = $1) AND i.id < $2 ORDER BY i.id DESC LIMIT $3");
    on_read!(db, c => sqlx::query_as(SQL).bind(state).bind(before_id).bind(limit).fetch_all(c).await)
}

/// unpaid → paid, once, with its order; the invoice's number. None when it was not unpaid
/// (paid already, or cancelled).
pub async fn mark_invoice_paid(tx: &mut Tx, id: i64, via: &str, now: UnixMs) -> Result<Option<String>, sqlx::Error> {
    const INVOICE: &str = "UPDATE invoices SET state = 'paid', paid_via = $2, paid_at = $3 \
         WHERE id = $1 AND state = 'unpaid' RETURNING order_id, number";
    const ORDER: &str = "UPDATE orders SET state = 'paid', paid_at = $2 WHERE id = $1 AND state = 'pending'";
    let paid: Option<(i64, String)> =
        on_tx!(tx, c => sqlx::query_as(INVOICE).bind(id).bind(via).bind(now).fetch_optional(c).await)?;
    let Some((order, number)) = paid else { return Ok(None) };
    on_tx!(tx, c => sqlx::query(ORDER).bind(order).bind(now).execute(c).await?.rows_affected());
    Ok(Some(number))
}

pub async fn add_invoice_refund(tx: &mut Tx, id: i64, amount_fen: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE invoices SET refunded_fen = refunded_fen + $2 \
         WHERE id = $1 AND state = 'paid' AND refunded_fen + $2 <= amount_fen";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(amount_fen).execute(c).await?.rows_affected());
    Ok(n == 1)
}

#[derive(Debug, Clone, FromRow)]
pub struct PendingOrder {
    pub id: i64,
    pub plan_id: Option<i64>,
    pub region_id: Option<i64>,
    pub coupon_id: Option<i64>,
}

/// pending → cancelled with its invoice; the order, or None when it was not pending.
pub async fn cancel_order(tx: &mut Tx, order_id: i64, now: UnixMs) -> Result<Option<PendingOrder>, sqlx::Error> {
    const ORDER: &str = "UPDATE orders SET state = 'cancelled', cancelled_at = $2 WHERE id = $1 AND state = 'pending' \
         RETURNING id, plan_id, region_id, coupon_id";
    const INVOICE: &str =
        "UPDATE invoices SET state = 'cancelled', cancelled_at = $2 WHERE order_id = $1 AND state = 'unpaid'";
    let order: Option<PendingOrder> =
        on_tx!(tx, c => sqlx::query_as(ORDER).bind(order_id).bind(now).fetch_optional(c).await)?;
    if order.is_some() {
        on_tx!(tx, c => sqlx::query(INVOICE).bind(order_id).bind(now).execute(c).await?.rows_affected());
    }
    Ok(order)
}

pub async fn stale_pending_orders(db: &Db, created_before: UnixMs, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "SELECT id FROM orders WHERE state = 'pending' AND created_at < $1 ORDER BY id LIMIT $2";
    on_read!(db, c => sqlx::query_scalar(SQL).bind(created_before).bind(limit).fetch_all(c).await)
}

#[derive(Debug, Clone, FromRow)]
pub struct Coupon {
    pub id: i64,
    pub kind: String,
    pub value: i64,
    pub per_account: i64,
}

/// Takes one use of a coupon valid at `now` with uses left; None when there is no such coupon.
pub async fn take_coupon(tx: &mut Tx, code: &str, now: UnixMs) -> Result<Option<Coupon>, sqlx::Error> {
    const SQL: &str = "UPDATE coupons SET used = used + 1 WHERE code = $1 AND valid_from <= $2 AND valid_until > $2 \
         AND (max_uses IS NULL OR used < max_uses) RETURNING id, kind, value, per_account";
    on_tx!(tx, c => sqlx::query_as(SQL).bind(code).bind(now).fetch_optional(c).await)
}

pub async fn coupon_uses_by(tx: &mut Tx, coupon_id: i64, account: &str) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM coupon_uses WHERE coupon_id = $1 AND account_id = $2";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(coupon_id).bind(account).fetch_one(c).await)
}

pub async fn insert_coupon_use(
    tx: &mut Tx,
    coupon_id: i64,
    account: &str,
    order_id: i64,
    now: UnixMs,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO coupon_uses (coupon_id, account_id, order_id, used_at) VALUES ($1, $2, $3, $4)";
    on_tx!(tx, c => sqlx::query(SQL).bind(coupon_id).bind(account).bind(order_id).bind(now).execute(c).await?.rows_affected());
    Ok(())
}

/// A cancelled order gives its coupon use back.
pub async fn release_coupon(tx: &mut Tx, coupon_id: i64, order_id: i64) -> Result<(), sqlx::Error> {
    const USES: &str = "DELETE FROM coupon_uses WHERE order_id = $1";
    const COUPON: &str = "UPDATE coupons SET used = used - 1 WHERE id = $1 AND used > 0";
    on_tx!(tx, c => sqlx::query(USES).bind(order_id).execute(c).await?.rows_affected());
    on_tx!(tx, c => sqlx::query(COUPON).bind(coupon_id).execute(c).await?.rows_affected());
    Ok(())
}

pub struct NewCoupon<'a> {
    pub code: &'a str,
    pub kind: &'static str,
    pub value: i64,
    pub valid_from: UnixMs,
    pub valid_until: UnixMs,
    pub max_uses: Option<i64>,
    pub per_account: i64,
}

/// None when the code is taken.
pub async fn insert_coupon(tx: &mut Tx, k: &NewCoupon<'_>, now: UnixMs) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO coupons (code, kind, value, valid_from, valid_until, max_uses, per_account, used, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) ON CONFLICT (code) DO NOTHING RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(k.code).bind(k.kind).bind(k.value).bind(k.valid_from).bind(k.valid_until).bind(k.max_uses)
        .bind(k.per_account).bind(now)
        .fetch_optional(c).await)
}

pub async fn add_invoice_refund_undo(tx: &mut Tx, id: i64, amount_fen: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE invoices SET refunded_fen = refunded_fen - $2 WHERE id = $1 AND refunded_fen >= $2";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(amount_fen).execute(c).await?.rows_affected());
    Ok(())
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct CouponRow {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub value: i64,
    pub valid_from: UnixMs,
    pub valid_until: UnixMs,
    pub max_uses: Option<i64>,
    pub per_account: i64,
    pub used: i64,
}

/// The newest coupons first.
pub async fn coupons(db: &Db, limit: i64) -> Result<Vec<CouponRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, code, kind, value, valid_from, valid_until, max_uses, per_account, used \
         FROM coupons ORDER BY id DESC LIMIT $1";
    on_read!(db, c => sqlx::query_as(SQL).bind(limit).fetch_all(c).await)
}
