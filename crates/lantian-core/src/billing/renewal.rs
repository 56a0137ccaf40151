//! Renewal invoices: a service's next period, priced at the catalog's current price for the
//! service's plan and duration (even once the plan is no longer sold), one unpaid at a time.
//! Paying one extends the service (`provisioning::on_paid`).

use std::collections::BTreeMap;

use super::repo::{self, NewInvoice, NewLine, NewOrder};
use crate::catalog::{self, Cycle, Offer, Region};
use crate::db::Tx;
use crate::{Core, Error, Result, UnixMs};

/// A service as its renewal needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Renewable {
    pub service_id: i64,
    pub account_id: String,
    pub buyer_username: String,
    pub plan_id: i64,
    pub region_id: i64,
    pub os_image: String,
    pub months: i64,
}
/// A renewal's cycle, price and line text (Chinese, English).
type Quote = (Cycle, i64, String, String);

/// The whole catalog, retired plans included, read once before the transactions that use it.
pub struct Prices {
    offers: Vec<Offer>,
    regions: Vec<Region>,
}

impl Prices {
    pub async fn load(core: &Core) -> Result<Prices> {
        let offers = catalog::plans::offers(&core.db, false).await?;
        let regions = catalog::list_regions(&core.db, 0, 1000).await?;
        Ok(Prices { offers, regions })
    }

    /// The price of `months` more of the plan, and the line's text in both languages. None: the
    /// catalog has no price for that duration any more (staff must look).
    fn quote(&self, s: &Renewable) -> Option<Quote> {
        let cycle = Cycle::ALL.into_iter().find(|c| c.months() == s.months)?;
        let offer = self.offers.iter().find(|o| o.plan.id == s.plan_id)?;
        let region = self.regions.iter().find(|r| r.id == s.region_id)?;
        let price = offer.price(cycle)?;
        let (plan, months, id) = (&offer.plan, s.months, s.service_id);
        let zh = format!("续费 · {} · {} · {months} 个月 · #{id}", plan.name_zh, region.name_zh);
        let month_en = if months == 1 { "month" } else { "months" };
        let en = format!("Renewal · {} · {} · {months} {month_en} · #{id}", plan.name_en, region.name_en);
        Some((cycle, price, zh, en))
    }
}

/// What [`issue_renewals`] did.
#[derive(Debug, Default)]
pub(crate) struct Renewals {
    /// (service, invoice) of each renewal invoice issued.
    pub issued: Vec<(i64, i64)>,
    /// Services whose plan has no price for their duration any more (staff must look).
    pub unpriced: Vec<i64>,
}

/// Issues one renewal invoice per service in the caller's transaction, a few statements for
/// the lot: the orders (a service with an unpaid renewal already gets none: the unique index on
/// pending renewals decides between racing callers), then their invoice numbers from the
/// counter in one step (gap-free, in service order), the invoices and their lines.
pub(crate) async fn issue_renewals(
    tx: &mut Tx,
    core: &Core,
    prices: &Prices,
    services: &[Renewable],
    now: UnixMs,
) -> Result<Renewals> {
    let mut done = Renewals::default();
    let mut quoted = BTreeMap::new();
    for s in services {
        match prices.quote(s) {
            Some(quote) => _ = quoted.insert(s.service_id, (s, quote)),
            None => done.unpriced.push(s.service_id),
        }
    }
    let orders: Vec<NewOrder> = quoted.values().map(|(s, q)| renewal_order(s, q)).collect();
    let mut order_of = repo::insert_renewal_orders(tx, &orders, now).await?;
    order_of.sort_unstable();
    let Some(count) = i64::try_from(order_of.len()).ok().filter(|n| *n > 0) else { return Ok(done) };
    // Numbered per year of China Standard Time, where the business keeps its books.
    let year = now.in_china().year();
    let last = repo::next_numbers(tx, &format!("invoice:{year}"), count).await?;
    let prefix = &core.config.billing.invoice_prefix;
    let invoices: Vec<(NewInvoice, Vec<NewLine>)> = order_of
        .iter()
        .zip(last - count + 1..)
        .map(|((service_id, order_id), n)| {
            let (s, quote) = &quoted[service_id];
            renewal_invoice(s, quote, format!("{prefix}-{year}-{n:06}"), *order_id)
        })
        .collect();
    let invoice_ids = repo::insert_invoices(tx, &invoices, now).await?;
    done.issued = order_of.iter().zip(invoice_ids).map(|((service_id, _), invoice)| (*service_id, invoice)).collect();
    Ok(done)
}

/// The service's renewal invoice alone (the customer's "renew"); its id. Conflict when one is
/// unpaid already, Validation when the plan has no price for the duration any more.
pub(crate) async fn issue_renewal(
    tx: &mut Tx,
    core: &Core,
    prices: &Prices,
    s: &Renewable,
    now: UnixMs,
) -> Result<i64> {
    let done = issue_renewals(tx, core, prices, std::slice::from_ref(s), now).await?;
    match done.issued.first() {
        Some((_, invoice)) => Ok(*invoice),
        None if done.unpriced.is_empty() => Err(Error::Conflict("renewal-unpaid")),
        None => Err(Error::validation("service", "service-not-renewable")),
    }
}

fn renewal_order<'a>(s: &'a Renewable, (cycle, price_fen, ..): &Quote) -> NewOrder<'a> {
    NewOrder {
        account: &s.account_id,
        kind: "renewal",
        plan_id: Some(s.plan_id),
        region_id: Some(s.region_id),
        os_image: Some(&s.os_image),
        cycle: Some(cycle.as_str()),
        months: s.months,
        coupon_id: None,
        discount_fen: 0,
        amount_fen: *price_fen,
        service_id: Some(s.service_id),
    }
}

fn renewal_invoice<'a>(
    s: &'a Renewable,
    quote: &'a Quote,
    number: String,
    order_id: i64,
) -> (NewInvoice<'a>, Vec<NewLine>) {
    let (_, price_fen, item_zh, item_en) = quote;
    let invoice = NewInvoice {
        number,
        account: &s.account_id,
        kind: "services",
        buyer_username: &s.buyer_username,
        item_zh,
        item_en,
        price_fen: *price_fen,
        discount_fen: 0,
        amount_fen: *price_fen,
    };
    let line = NewLine {
        order_id,
        item_zh: item_zh.clone(),
        item_en: item_en.clone(),
        price_fen: *price_fen,
        discount_fen: 0,
    };
    (invoice, vec![line])
}
