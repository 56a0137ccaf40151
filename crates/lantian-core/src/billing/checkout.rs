//! Checkout: the gate (verified e-mail, real name where the region needs it, no minor without
//! a guardian's consent), stock, coupon, then the order and its invoice in one transaction.

use rand::Rng;

use super::repo::{self, Buyer, NewInvoice, NewOrder};
use crate::catalog::{self, Cycle, repo as catalog_repo};
use crate::db::Tx;
use crate::{Core, Error, Result, UnixMs};

/// What the customer chose.
#[derive(Debug, Clone)]
pub struct CheckoutInput {
    pub plan_id: i64,
    pub region_id: i64,
    pub cycle: Cycle,
    pub os_image: String,
    /// As typed; empty for none.
    pub coupon: String,
}

/// The order placed and its invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub order_id: i64,
    pub invoice_id: i64,
    pub amount_fen: i64,
}

/// The smallest and largest balance top-up, in fen.
pub const TOP_UP_RANGE: std::ops::RangeInclusive<i64> = 100..=5_000_000;

/// Places an order for a server and issues its invoice.
pub async fn checkout(core: &Core, customer_id: i64, input: &CheckoutInput, now: UnixMs) -> Result<Placed> {
    let offer = catalog::plans::offer(&core.db, input.plan_id).await?;
    let region = catalog::region(&core.db, input.region_id).await?;
    if !offer.plan.active {
        return Err(Error::NotFound);
    }
    let price = offer.price(input.cycle).ok_or(Error::validation("cycle", "cycle-unavailable"))?;
    if !offer.plan.images().any(|i| i == input.os_image) {
        return Err(Error::validation("os_image", "image-unavailable"));
    }
    let mut tx = core.db.begin().await?;
    let buyer = repo::buyer(&mut tx, customer_id).await?.ok_or(Error::NotFound)?;
    may_buy(&buyer, region.real_name_required)?;
    if !catalog_repo::take_stock(&mut tx, offer.plan.id, region.id).await? {
        return Err(Error::validation("region_id", "out-of-stock"));
    }
    let account = repo::ensure_account(&mut tx, customer_id, &new_account_id(), now).await?;
    let coupon = match input.coupon.trim() {
        "" => None,
        code => Some(redeem(&mut tx, &code.to_ascii_uppercase(), &account, now).await?),
    };
    let discount = coupon.as_ref().map_or(0, |c| discount_of(c, price));
    let order = NewOrder {
        account: &account,
        kind: "new",
        plan_id: Some(offer.plan.id),
        region_id: Some(region.id),
        os_image: Some(&input.os_image),
        cycle: Some(input.cycle.as_str()),
        months: input.cycle.months(),
        coupon_id: coupon.as_ref().map(|c| c.id),
        discount_fen: discount,
        amount_fen: price - discount,
    };
    let order_id = repo::insert_order(&mut tx, &order, now).await?;
    if let Some(c) = &coupon {
        repo::insert_coupon_use(&mut tx, c.id, &account, order_id, now).await?;
    }
    let months = input.cycle.months();
    let item_zh = format!("{} · {} · {months} 个月 · {}", offer.plan.name_zh, region.name_zh, input.os_image);
    let month_en = if months == 1 { "month" } else { "months" };
    let item_en = format!("{} · {} · {months} {month_en} · {}", offer.plan.name_en, region.name_en, input.os_image);
    let placed = issue(&mut tx, core, order_id, &account, &buyer, (&item_zh, &item_en), price, discount, now).await?;
    if placed.amount_fen == 0 {
        // Fully discounted: nothing to pay, so it is paid now.
        let due = super::settle::Due {
            invoice_id: placed.invoice_id,
            account: &account,
            amount_fen: 0,
            top_up: false,
            customer: Some(customer_id),
        };
        super::settle::settle(&mut tx, core, &due, "balance", now).await?;
    }
    tx.commit().await?;
    Ok(placed)
}

/// An order that adds `amount_fen` to the balance once its invoice is paid through the gateway.
pub async fn top_up(core: &Core, customer_id: i64, amount_fen: i64, now: UnixMs) -> Result<Placed> {
    if !TOP_UP_RANGE.contains(&amount_fen) {
        return Err(Error::validation("amount", "top-up-amount"));
    }
    let mut tx = core.db.begin().await?;
    let buyer = repo::buyer(&mut tx, customer_id).await?.ok_or(Error::NotFound)?;
    may_buy(&buyer, false)?;
    let account = repo::ensure_account(&mut tx, customer_id, &new_account_id(), now).await?;
    let order = NewOrder::top_up(&account, amount_fen);
    let order_id = repo::insert_order(&mut tx, &order, now).await?;
    let items = ("账户余额充值", "Balance top-up");
    let placed = issue(&mut tx, core, order_id, &account, &buyer, items, amount_fen, 0, now).await?;
    tx.commit().await?;
    Ok(placed)
}

/// The gate every purchase passes.
fn may_buy(buyer: &Buyer, real_name_required: bool) -> Result<()> {
    if buyer.email_verified_at.is_none() {
        return Err(Error::validation("checkout", "email-unverified"));
    }
    if buyer.age_bracket == "minor" {
        // A guardian's written consent is recorded with real-name verification; until then a
        // declared minor cannot buy.
        return Err(Error::validation("checkout", "guardian-consent-required"));
    }
    if real_name_required && buyer.real_name_verified_at.is_none() {
        return Err(Error::validation("checkout", "real-name-required"));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn issue(
    tx: &mut Tx,
    core: &Core,
    order_id: i64,
    account: &str,
    buyer: &Buyer,
    (item_zh, item_en): (&str, &str),
    price_fen: i64,
    discount_fen: i64,
    now: UnixMs,
) -> Result<Placed> {
    // Numbered per year of China Standard Time, where the business keeps its books.
    let year = now.to_timestamp().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).year();
    let prefix = &core.config.billing.invoice_prefix;
    let n = repo::next_number(tx, &format!("invoice:{year}")).await?;
    let number = format!("{prefix}-{year}-{n:06}");
    let amount_fen = price_fen - discount_fen;
    let invoice = NewInvoice {
        number: &number,
        order_id,
        account,
        buyer_username: &buyer.username,
        item_zh,
        item_en,
        price_fen,
        discount_fen,
        amount_fen,
    };
    let invoice_id = repo::insert_invoice(tx, &invoice, now).await?;
    Ok(Placed { order_id, invoice_id, amount_fen })
}

async fn redeem(tx: &mut Tx, code: &str, account: &str, now: UnixMs) -> Result<repo::Coupon> {
    let coupon = repo::take_coupon(tx, code, now).await?.ok_or(Error::validation("coupon", "coupon-invalid"))?;
    if repo::coupon_uses_by(tx, coupon.id, account).await? >= coupon.per_account {
        return Err(Error::validation("coupon", "coupon-used-up"));
    }
    Ok(coupon)
}

/// Percent coupons round the discount down to the fen; fixed ones never exceed the price.
fn discount_of(coupon: &repo::Coupon, price: i64) -> i64 {
    match coupon.kind.as_str() {
        "percent" => price * coupon.value.clamp(0, 100) / 100,
        _ => coupon.value.min(price),
    }
}

/// The pseudonym of a new billing account: `A` and 12 characters that cannot be confused.
pub(super) fn new_account_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let tail: String = (0..12).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect();
    format!("A{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounts_round_down_and_never_exceed_the_price() {
        let c = |kind: &str, value| repo::Coupon { id: 1, kind: kind.into(), value, per_account: 1 };
        assert_eq!(discount_of(&c("percent", 15), 2900), 435);
        assert_eq!(discount_of(&c("percent", 33), 1001), 330);
        assert_eq!(discount_of(&c("percent", 100), 2900), 2900);
        assert_eq!(discount_of(&c("fixed", 500), 2900), 500);
        assert_eq!(discount_of(&c("fixed", 5000), 2900), 2900);
        assert!(new_account_id().starts_with('A') && new_account_id().len() == 13);
    }
}
