//! Checkout: the gate (verified e-mail, real name where a region needs it, no minor without a
//! guardian's consent), stock, coupon, then the orders (one per server) and their invoice in
//! one transaction.

use rand::Rng;

use super::repo::{self, Buyer, NewInvoice, NewLine, NewOrder};
use crate::catalog::{self, Cycle, Offer, Region, repo as catalog_repo};
use crate::db::Tx;
use crate::{Core, Error, Result, UnixMs};

/// One server as the customer configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub plan_id: i64,
    pub region_id: i64,
    pub cycle: Cycle,
    pub os_image: String,
}

/// What the customer checks out: the servers, and a coupon code as typed (empty for none).
#[derive(Debug, Clone)]
pub struct CheckoutInput {
    pub items: Vec<Item>,
    pub coupon: String,
}

/// The invoice issued and its orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub order_ids: Vec<i64>,
    pub invoice_id: i64,
    pub amount_fen: i64,
}

/// The most servers one checkout (and one cart) can hold.
pub const MAX_ITEMS: usize = 10;

/// The smallest and largest balance top-up, in fen.
pub const TOP_UP_RANGE: std::ops::RangeInclusive<i64> = 100..=5_000_000;

/// An item checked against the catalog, with its current price.
pub(super) struct Priced<'a> {
    item: &'a Item,
    offer: &'a Offer,
    region: &'a Region,
    price_fen: i64,
}

impl Priced<'_> {
    pub(super) fn price_fen(&self) -> i64 {
        self.price_fen
    }

    /// How many more servers of the plan the region can take.
    pub(super) fn in_stock(&self) -> i64 {
        self.offer.available_in(self.region.id)
    }
}

/// The catalog as checkout reads it, before its transaction: reading through the pool while
/// holding a transaction's connection could exhaust the pool under concurrent checkouts.
pub(super) struct Catalog {
    offers: Vec<Offer>,
    regions: Vec<Region>,
}

impl Catalog {
    pub(super) async fn load(core: &Core) -> Result<Catalog> {
        let offers = catalog::plans::offers(&core.db, true).await?;
        let regions = catalog::list_regions(&core.db, 0, 1000).await?;
        Ok(Catalog { offers, regions })
    }

    /// Checks every item against the catalog: an active plan, a price for the cycle, an
    /// offered image, a known region.
    pub(super) fn price<'a>(&'a self, items: &'a [Item]) -> Result<Vec<Priced<'a>>> {
        items.iter().map(|item| self.price_one(item)).collect()
    }

    pub(super) fn price_one<'a>(&'a self, item: &'a Item) -> Result<Priced<'a>> {
        let offer = self.offers.iter().find(|o| o.plan.id == item.plan_id && o.plan.active).ok_or(Error::NotFound)?;
        let region = self.regions.iter().find(|r| r.id == item.region_id).ok_or(Error::NotFound)?;
        let price_fen = offer.price(item.cycle).ok_or(Error::validation("cycle", "cycle-unavailable"))?;
        if !offer.plan.images().any(|i| i == item.os_image) {
            return Err(Error::validation("os_image", "image-unavailable"));
        }
        Ok(Priced { item, offer, region, price_fen })
    }
}

/// Places the orders for the servers and issues one invoice for them.
pub async fn checkout(core: &Core, customer_id: i64, input: &CheckoutInput, now: UnixMs) -> Result<Placed> {
    let catalog = Catalog::load(core).await?;
    let priced = catalog.price(&input.items)?;
    let mut tx = core.db.begin().await?;
    let placed = place(&mut tx, core, customer_id, &priced, &input.coupon, now).await?;
    tx.commit().await?;
    Ok(placed)
}

/// Checkout in the caller's transaction (the cart also empties itself in it).
pub(super) async fn place(
    tx: &mut Tx,
    core: &Core,
    customer_id: i64,
    priced: &[Priced<'_>],
    coupon: &str,
    now: UnixMs,
) -> Result<Placed> {
    if priced.is_empty() {
        return Err(Error::validation("cart", "cart-empty"));
    }
    if priced.len() > MAX_ITEMS {
        return Err(Error::validation("cart", "cart-full"));
    }
    let buyer = repo::buyer(tx, customer_id).await?.ok_or(Error::NotFound)?;
    gate(&buyer, priced.iter().any(|p| p.region.real_name_required))?;
    for p in priced {
        if !catalog_repo::take_stock(tx, p.offer.plan.id, p.region.id).await? {
            return Err(Error::validation("region_id", "out-of-stock"));
        }
    }
    let account = repo::ensure_account(tx, customer_id, &new_account_id(), now).await?;
    let coupon = match coupon.trim() {
        "" => None,
        code => Some(redeem(tx, &code.to_ascii_uppercase(), &account, now).await?),
    };
    let prices: Vec<i64> = priced.iter().map(|p| p.price_fen).collect();
    let discounts = coupon.as_ref().map_or_else(|| vec![0; prices.len()], |c| discounts_of(c, &prices));
    let mut lines = Vec::with_capacity(priced.len());
    for (p, discount) in priced.iter().zip(discounts) {
        let order = NewOrder {
            account: &account,
            kind: "new",
            plan_id: Some(p.offer.plan.id),
            region_id: Some(p.region.id),
            os_image: Some(&p.item.os_image),
            cycle: Some(p.item.cycle.as_str()),
            months: p.item.cycle.months(),
            coupon_id: coupon.as_ref().filter(|_| discount > 0).map(|c| c.id),
            discount_fen: discount,
            amount_fen: p.price_fen - discount,
            service_id: None,
        };
        let order_id = repo::insert_order(tx, &order, now).await?;
        let (item_zh, item_en) = describe(p);
        lines.push(NewLine { order_id, item_zh, item_en, price_fen: p.price_fen, discount_fen: discount });
    }
    if let Some(c) = &coupon {
        // One use per checkout, named by its first order.
        repo::insert_coupon_use(tx, c.id, &account, lines[0].order_id, now).await?;
    }
    let placed = issue(tx, core, &account, &buyer, "services", &lines, now).await?;
    if placed.amount_fen == 0 {
        // Fully discounted: nothing to pay, so it is paid now.
        let due = super::settle::Due {
            invoice_id: placed.invoice_id,
            account: &account,
            amount_fen: 0,
            top_up: false,
            customer: Some(customer_id),
        };
        super::settle::settle(tx, core, &due, "balance", now).await?;
    }
    Ok(placed)
}

/// The line's text in both languages: plan · region · duration · image.
pub(super) fn describe(p: &Priced<'_>) -> (String, String) {
    let months = p.item.cycle.months();
    let (plan, region, image) = (&p.offer.plan, p.region, &p.item.os_image);
    let zh = format!("{} · {} · {months} 个月 · {image}", plan.name_zh, region.name_zh);
    let month_en = if months == 1 { "month" } else { "months" };
    let en = format!("{} · {} · {months} {month_en} · {image}", plan.name_en, region.name_en);
    (zh, en)
}

/// An order that adds `amount_fen` to the balance once its invoice is paid through the gateway.
pub async fn top_up(core: &Core, customer_id: i64, amount_fen: i64, now: UnixMs) -> Result<Placed> {
    if !TOP_UP_RANGE.contains(&amount_fen) {
        return Err(Error::validation("amount", "top-up-amount"));
    }
    let mut tx = core.db.begin().await?;
    let buyer = repo::buyer(&mut tx, customer_id).await?.ok_or(Error::NotFound)?;
    gate(&buyer, false)?;
    let account = repo::ensure_account(&mut tx, customer_id, &new_account_id(), now).await?;
    let order_id = repo::insert_order(&mut tx, &NewOrder::top_up(&account, amount_fen), now).await?;
    let line = NewLine {
        order_id,
        item_zh: "账户余额充值".into(),
        item_en: "Balance top-up".into(),
        price_fen: amount_fen,
        discount_fen: 0,
    };
    let placed = issue(&mut tx, core, &account, &buyer, "top_up", &[line], now).await?;
    tx.commit().await?;
    Ok(placed)
}

/// The gate every purchase passes, and provisioning again before it creates a server.
pub async fn may_buy(db: &crate::Db, customer_id: i64, real_name_required: bool) -> Result<()> {
    let buyer = repo::buyer_now(db, customer_id).await?.ok_or(Error::NotFound)?;
    gate(&buyer, real_name_required)
}

fn gate(buyer: &Buyer, real_name_required: bool) -> Result<()> {
    if buyer.email_verified_at.is_none() {
        return Err(Error::validation("checkout", "email-unverified"));
    }
    if buyer.age_bracket == "minor" && buyer.guardian_approved_at.is_none() {
        // Declared at sign-up or shown by the ID number: a customer of 16 or 17 buys only once
        // staff approved a guardian's written consent (C7.1).
        return Err(Error::validation("checkout", "guardian-consent-required"));
    }
    if real_name_required && buyer.real_name_verified_at.is_none() {
        return Err(Error::validation("checkout", "real-name-required"));
    }
    Ok(())
}

/// Issues the invoice of `lines` with a gap-free number and the buyer's snapshot.
pub(super) async fn issue(
    tx: &mut Tx,
    core: &Core,
    account: &str,
    buyer: &Buyer,
    kind: &'static str,
    lines: &[NewLine],
    now: UnixMs,
) -> Result<Placed> {
    // Numbered per year of China Standard Time, where the business keeps its books.
    let year = now.in_china().year();
    let prefix = &core.config.billing.invoice_prefix;
    let n = repo::next_number(tx, &format!("invoice:{year}")).await?;
    let number = format!("{prefix}-{year}-{n:06}");
    let (item_zh, item_en) = summary(lines);
    let price_fen = lines.iter().map(|l| l.price_fen).sum();
    let discount_fen = lines.iter().map(|l| l.discount_fen).sum();
    let invoice = NewInvoice {
        number,
        account,
        kind,
        buyer_username: &buyer.username,
        item_zh: &item_zh,
        item_en: &item_en,
        price_fen,
        discount_fen,
        amount_fen: price_fen - discount_fen,
    };
    let amount_fen = invoice.amount_fen;
    let ids = repo::insert_invoices(tx, &[(invoice, lines.to_vec())], now).await?;
    let invoice_id = ids.first().copied().ok_or(Error::Internal(anyhow::anyhow!("no invoice inserted")))?;
    let order_ids = lines.iter().map(|l| l.order_id).collect();
    Ok(Placed { order_ids, invoice_id, amount_fen })
}

/// What lists show of an invoice: its only line, or the first and how many more.
fn summary(lines: &[NewLine]) -> (String, String) {
    let first = &lines[0];
    match lines.len() {
        1 => (first.item_zh.clone(), first.item_en.clone()),
        n => (format!("{} 等 {n} 项", first.item_zh), format!("{} and {} more", first.item_en, n - 1)),
    }
}

async fn redeem(tx: &mut Tx, code: &str, account: &str, now: UnixMs) -> Result<repo::Coupon> {
    let coupon = repo::take_coupon(tx, code, now).await?.ok_or(Error::validation("coupon", "coupon-invalid"))?;
    if repo::coupon_uses_by(tx, coupon.id, account).await? >= coupon.per_account {
        return Err(Error::validation("coupon", "coupon-used-up"));
    }
    Ok(coupon)
}

/// The discount of each price. Percent coupons take that share of every line, rounded down to
/// the fen; a fixed coupon is spent line by line and never exceeds what is bought.
fn discounts_of(coupon: &repo::Coupon, prices: &[i64]) -> Vec<i64> {
    match coupon.kind.as_str() {
        "percent" => prices.iter().map(|p| p * coupon.value.clamp(0, 100) / 100).collect(),
        _ => {
            let mut left = coupon.value;
            prices
                .iter()
                .map(|p| {
                    let d = left.min(*p);
                    left -= d;
                    d
                })
                .collect()
        }
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
        assert_eq!(discounts_of(&c("percent", 15), &[2900]), [435]);
        assert_eq!(discounts_of(&c("percent", 33), &[1001, 2900]), [330, 957]);
        assert_eq!(discounts_of(&c("percent", 100), &[2900]), [2900]);
        assert_eq!(discounts_of(&c("fixed", 500), &[2900, 2900]), [500, 0]);
        assert_eq!(discounts_of(&c("fixed", 5000), &[2900, 2900, 100]), [2900, 2100, 0]);
        assert!(new_account_id().starts_with('A') && new_account_id().len() == 13);
    }
}
