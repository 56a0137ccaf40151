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
    pub guardian_approved_at: Option<UnixMs>,
}

const BUYER: &str = "SELECT username, email_verified_at, real_name_verified_at, age_bracket, guardian_approved_at \
     FROM customers WHERE id = $1";

pub async fn buyer(tx: &mut Tx, customer_id: i64) -> Result<Option<Buyer>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_as(BUYER).bind(customer_id).fetch_optional(c).await)
}

pub async fn buyer_now(db: &Db, customer_id: i64) -> Result<Option<Buyer>, sqlx::Error> {
    on_read!(db, c => sqlx::query_as(BUYER).bind(customer_id).fetch_optional(c).await)
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
    next_numbers(tx, name, 1).await
}

/// Takes the next `count` numbers of counter `name` at once; the last of them.
pub async fn next_numbers(tx: &mut Tx, name: &str, count: i64) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO counters (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + $2 RETURNING value";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(name).bind(count).fetch_one(c).await)
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
    /// A renewal's service.
    pub service_id: Option<i64>,
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
            service_id: None,
        }
    }
}

const ORDER_COLUMNS: &str = "INSERT INTO orders (account_id, kind, plan_id, region_id, os_image, cycle, months, \
     coupon_id, discount_fen, amount_fen, state, created_at, service_id) ";

fn push_order<DB: sqlx::Database>(
    row: &mut sqlx::query_builder::Separated<'_, DB, &'static str>,
    o: &NewOrder,
    now: UnixMs,
) where
    for<'e> &'e str: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> Option<&'e str>: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> i64: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> Option<i64>: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
    for<'e> UnixMs: sqlx::Encode<'e, DB> + sqlx::Type<DB>,
{
    row.push_bind(o.account).push_bind(o.kind).push_bind(o.plan_id).push_bind(o.region_id).push_bind(o.os_image);
    row.push_bind(o.cycle).push_bind(o.months).push_bind(o.coupon_id).push_bind(o.discount_fen);
    row.push_bind(o.amount_fen).push("'pending'").push_bind(now).push_bind(o.service_id);
}

pub async fn insert_order(tx: &mut Tx, o: &NewOrder<'_>, now: UnixMs) -> Result<i64, sqlx::Error> {
    on_tx!(tx, c => {
        let mut q = sqlx::QueryBuilder::new(ORDER_COLUMNS);
        q.push_values([o], |mut row, o| push_order(&mut row, o, now));
        q.push(" RETURNING id");
        q.build_query_scalar().fetch_one(c).await
    })
}

/// Inserts renewal orders, skipping each whose service has one pending already; (service,
/// order) of those inserted.
pub async fn insert_renewal_orders(
    tx: &mut Tx,
    orders: &[NewOrder<'_>],
    now: UnixMs,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    let mut inserted = Vec::with_capacity(orders.len());
    for chunk in orders.chunks(crate::db::ROWS_PER_INSERT) {
        let rows: Vec<(i64, i64)> = on_tx!(&mut *tx, c => {
            let mut q = sqlx::QueryBuilder::new(ORDER_COLUMNS);
            q.push_values(chunk, |mut row, o| push_order(&mut row, o, now));
            q.push(" ON CONFLICT DO NOTHING RETURNING service_id, id");
            q.build_query_as().fetch_all(c).await?
        });
        inserted.extend(rows);
    }
    Ok(inserted)
}

pub struct NewInvoice<'a> {
    pub number: String,
    pub account: &'a str,
    /// `services` or `top_up`.
    pub kind: &'static str,
    pub buyer_username: &'a str,
    pub item_zh: &'a str,
    pub item_en: &'a str,
    pub price_fen: i64,
    pub discount_fen: i64,
    pub amount_fen: i64,
}

/// One order on an invoice, as issued.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub order_id: i64,
    pub item_zh: String,
    pub item_en: String,
    pub price_fen: i64,
    pub discount_fen: i64,
}

/// Inserts the invoices with their lines, a few hundred per statement; their ids, in order.
pub async fn insert_invoices(
    tx: &mut Tx,
    invoices: &[(NewInvoice<'_>, Vec<NewLine>)],
    now: UnixMs,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = Vec::with_capacity(invoices.len());
    for chunk in invoices.chunks(crate::db::ROWS_PER_INSERT) {
        let numbered: Vec<(String, i64)> = on_tx!(&mut *tx, c => {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO invoices (number, account_id, kind, buyer_username, item_zh, \
                 item_en, price_fen, discount_fen, amount_fen, state, issued_at) ");
            q.push_values(chunk, |mut row, (i, _)| {
                row.push_bind(&i.number).push_bind(i.account).push_bind(i.kind).push_bind(i.buyer_username);
                row.push_bind(i.item_zh).push_bind(i.item_en).push_bind(i.price_fen).push_bind(i.discount_fen);
                row.push_bind(i.amount_fen).push("'unpaid'").push_bind(now);
            });
            q.push(" RETURNING number, id");
            q.build_query_as().fetch_all(c).await?
        });
        // RETURNING promises no order: the numbers (unique) say which is which.
        let id_of: std::collections::HashMap<String, i64> = numbered.into_iter().collect();
        let chunk_ids: Vec<i64> = chunk
            .iter()
            .map(|(i, _)| id_of.get(&i.number).copied().ok_or(sqlx::Error::RowNotFound))
            .collect::<Result<_, _>>()?;
        let lines: Vec<(i64, &NewLine)> =
            chunk.iter().zip(&chunk_ids).flat_map(|((_, lines), id)| lines.iter().map(move |l| (*id, l))).collect();
        insert_lines(tx, &lines).await?;
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

async fn insert_lines(tx: &mut Tx, lines: &[(i64, &NewLine)]) -> Result<(), sqlx::Error> {
    for chunk in lines.chunks(crate::db::ROWS_PER_INSERT) {
        on_tx!(&mut *tx, c => {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO invoice_lines (order_id, invoice_id, item_zh, item_en, \
                 price_fen, discount_fen, amount_fen) ");
            q.push_values(chunk, |mut row, (invoice_id, l)| {
                row.push_bind(l.order_id).push_bind(*invoice_id).push_bind(&l.item_zh).push_bind(&l.item_en);
                row.push_bind(l.price_fen).push_bind(l.discount_fen).push_bind(l.price_fen - l.discount_fen);
            });
            q.build().execute(c).await?.rows_affected()
        });
    }
    Ok(())
}

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub number: String,
    pub account_id: String,
    /// `services` or `top_up`.
    pub kind: String,
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
}

macro_rules! invoice_select {
    () => {
        "SELECT id, number, account_id, kind, buyer_username, item_zh, item_en, price_fen, discount_fen, amount_fen, \
         state, paid_via, refunded_fen, issued_at, paid_at, cancelled_at FROM invoices"
    };
}

pub async fn invoice(db: &Db, id: i64) -> Result<Option<Invoice>, sqlx::Error> {
    const SQL: &str = concat!(invoice_select!(), " WHERE id = $1");
    on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

pub async fn invoice_in(tx: &mut Tx, id: i64) -> Result<Option<Invoice>, sqlx::Error> {
    const SQL: &str = concat!(invoice_select!(), " WHERE id = $1");
    on_tx!(tx, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

/// One page of an account's invoices, newest first (one query, whatever the account's size).
pub async fn invoice_page(db: &Db, account: &str, before_id: i64, limit: i64) -> Result<Vec<Invoice>, sqlx::Error> {
    const SQL: &str = concat!(invoice_select!(), " WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3");
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
        concat!(invoice_select!(), " WHERE ($1 IS NULL OR state = $1) AND id < $2 ORDER BY id DESC LIMIT $3");
    on_read!(db, c => sqlx::query_as(SQL).bind(state).bind(before_id).bind(limit).fetch_all(c).await)
}

/// A line of an issued invoice: one order.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct InvoiceLine {
    pub order_id: i64,
    pub item_zh: String,
    pub item_en: String,
    pub price_fen: i64,
    pub discount_fen: i64,
    pub amount_fen: i64,
    /// The order's state: `pending`, `paid` or `cancelled`.
    pub state: String,
    pub months: i64,
}

pub async fn lines(db: &Db, invoice_id: i64) -> Result<Vec<InvoiceLine>, sqlx::Error> {
    const SQL: &str = "SELECT l.order_id, l.item_zh, l.item_en, l.price_fen, l.discount_fen, l.amount_fen, o.state, \
         o.months FROM invoice_lines l JOIN orders o ON o.id = l.order_id WHERE l.invoice_id = $1 ORDER BY l.order_id";
    on_read!(db, c => sqlx::query_as(SQL).bind(invoice_id).fetch_all(c).await)
}

/// An invoice just marked paid: its number, and whether it renews services.
#[derive(Debug, Clone)]
pub struct PaidInvoice {
    pub number: String,
    pub renews: bool,
}

/// `WHERE` for the pending orders of invoice `$1`, changed in one statement. The state is tested
/// as `(state = 'pending') = TRUE` on purpose: written plainly, SQLite's planner walks the
/// `orders_state` index (every pending order of every customer) instead of taking the
/// invoice's few lines by key (`EXPLAIN QUERY PLAN`; found by the notification benchmark).
macro_rules! pending_orders_of_invoice {
    () => {
        " WHERE id IN (SELECT order_id FROM invoice_lines WHERE invoice_id = $1) AND (state = 'pending') = TRUE"
    };
}

/// unpaid → paid, once, with its orders. None when it was not unpaid (paid already, or
/// cancelled).
pub async fn mark_invoice_paid(
    tx: &mut Tx,
    id: i64,
    via: &str,
    now: UnixMs,
) -> Result<Option<PaidInvoice>, sqlx::Error> {
    const INVOICE: &str = "UPDATE invoices SET state = 'paid', paid_via = $2, paid_at = $3 \
         WHERE id = $1 AND state = 'unpaid' RETURNING number";
    const ORDERS: &str =
        concat!("UPDATE orders SET state = 'paid', paid_at = $2", pending_orders_of_invoice!(), " RETURNING kind");
    let paid: Option<String> =
        on_tx!(tx, c => sqlx::query_scalar(INVOICE).bind(id).bind(via).bind(now).fetch_optional(c).await)?;
    let Some(number) = paid else { return Ok(None) };
    let kinds: Vec<String> = on_tx!(tx, c => sqlx::query_scalar(ORDERS).bind(id).bind(now).fetch_all(c).await)?;
    Ok(Some(PaidInvoice { number, renews: kinds.iter().any(|k| k == "renewal") }))
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
    pub kind: String,
    pub plan_id: Option<i64>,
    pub region_id: Option<i64>,
    pub coupon_id: Option<i64>,
}

/// unpaid → cancelled with its pending orders; the orders, or None when it was not unpaid.
pub async fn cancel_invoice(tx: &mut Tx, id: i64, now: UnixMs) -> Result<Option<Vec<PendingOrder>>, sqlx::Error> {
    const INVOICE: &str =
        "UPDATE invoices SET state = 'cancelled', cancelled_at = $2 WHERE id = $1 AND state = 'unpaid'";
    const ORDERS: &str = concat!(
        "UPDATE orders SET state = 'cancelled', cancelled_at = $2",
        pending_orders_of_invoice!(),
        " RETURNING id, kind, plan_id, region_id, coupon_id"
    );
    let n = on_tx!(tx, c => sqlx::query(INVOICE).bind(id).bind(now).execute(c).await?.rows_affected());
    if n == 0 {
        return Ok(None);
    }
    let mut orders: Vec<PendingOrder> = on_tx!(tx, c => sqlx::query_as(ORDERS).bind(id).bind(now).fetch_all(c).await)?;
    orders.sort_by_key(|o| o.id);
    Ok(Some(orders))
}

/// Unpaid invoices issued before the cut-off, but for renewals: those stay payable until their
/// service is terminated (which cancels them).
pub async fn stale_unpaid_invoices(db: &Db, issued_before: UnixMs, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "SELECT i.id FROM invoices i WHERE i.state = 'unpaid' AND i.issued_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM invoice_lines l JOIN orders o ON o.id = l.order_id \
         WHERE l.invoice_id = i.id AND o.kind = 'renewal') ORDER BY i.id LIMIT $2";
    on_read!(db, c => sqlx::query_scalar(SQL).bind(issued_before).bind(limit).fetch_all(c).await)
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

/// A cancelled order gives back the coupon use it holds (a checkout's use is named by its
/// first order; the others hold none).
pub async fn release_coupon(tx: &mut Tx, coupon_id: i64, order_id: i64) -> Result<(), sqlx::Error> {
    const USES: &str = "DELETE FROM coupon_uses WHERE order_id = $1";
    const COUPON: &str = "UPDATE coupons SET used = used - 1 WHERE id = $1 AND used > 0";
    let released = on_tx!(tx, c => sqlx::query(USES).bind(order_id).execute(c).await?.rows_affected());
    if released > 0 {
        on_tx!(tx, c => sqlx::query(COUPON).bind(coupon_id).execute(c).await?.rows_affected());
    }
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

#[derive(Debug, Clone, FromRow)]
pub struct CartRow {
    pub id: i64,
    pub plan_id: i64,
    pub region_id: i64,
    pub cycle: String,
    pub os_image: String,
}

pub async fn cart(db: &Db, customer_id: i64) -> Result<Vec<CartRow>, sqlx::Error> {
    const SQL: &str =
        "SELECT id, plan_id, region_id, cycle, os_image FROM cart_items WHERE customer_id = $1 ORDER BY id";
    on_read!(db, c => sqlx::query_as(SQL).bind(customer_id).fetch_all(c).await)
}

/// Adds an item unless the cart already holds `max`; false when full. (Two racing additions on
/// PostgreSQL may both pass the count; checkout itself refuses more than `max` items.)
pub async fn add_to_cart(
    tx: &mut Tx,
    customer_id: i64,
    row: &CartRow,
    max: i64,
    now: UnixMs,
) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO cart_items (customer_id, plan_id, region_id, cycle, os_image, added_at) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT COUNT(*) FROM cart_items WHERE customer_id = $1) < $7";
    let n = on_tx!(tx, c => sqlx::query(SQL)
        .bind(customer_id).bind(row.plan_id).bind(row.region_id).bind(&row.cycle).bind(&row.os_image).bind(now)
        .bind(max)
        .execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// Removes items of this customer's cart; how many went.
pub async fn remove_from_cart(tx: &mut Tx, customer_id: i64, ids: &[i64]) -> Result<usize, sqlx::Error> {
    const SQL: &str = "DELETE FROM cart_items WHERE customer_id = $1 AND id = $2";
    let mut removed = 0;
    for id in ids {
        removed += on_tx!(tx, c => sqlx::query(SQL).bind(customer_id).bind(*id).execute(c).await?.rows_affected());
    }
    Ok(removed as usize)
}
