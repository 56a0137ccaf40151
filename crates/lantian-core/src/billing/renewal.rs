//! Renewal invoices: a service's next period, priced at the catalog's current price for the
//! service's plan and duration (even once the plan is no longer sold), one unpaid at a time.
//! Paying one extends the service (`provisioning::on_paid`).

use super::checkout::issue;
use super::repo::{self, NewLine, NewOrder};
use crate::catalog::{self, Cycle, Offer, Region};
use crate::db::Tx;
use crate::{Core, Error, Result, UnixMs};

/// A service as its renewal needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Renewable {
    pub service_id: i64,
    pub account_id: String,
    pub customer_id: i64,
    pub plan_id: i64,
    pub region_id: i64,
    pub os_image: String,
    pub months: i64,
}

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
    fn quote(&self, s: &Renewable) -> Option<(Cycle, i64, String, String)> {
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

/// Issues the service's renewal invoice in the caller's transaction; its id. Conflict when one
/// is unpaid already (the unique index on pending renewals decides between racing callers).
pub(crate) async fn issue_renewal(
    tx: &mut Tx,
    core: &Core,
    prices: &Prices,
    s: &Renewable,
    now: UnixMs,
) -> Result<i64> {
    let (cycle, price_fen, item_zh, item_en) =
        prices.quote(s).ok_or(Error::validation("service", "service-not-renewable"))?;
    let buyer = repo::buyer(tx, s.customer_id).await?.ok_or(Error::NotFound)?;
    let order = NewOrder {
        account: &s.account_id,
        kind: "renewal",
        plan_id: Some(s.plan_id),
        region_id: Some(s.region_id),
        os_image: Some(&s.os_image),
        cycle: Some(cycle.as_str()),
        months: s.months,
        coupon_id: None,
        discount_fen: 0,
        amount_fen: price_fen,
        service_id: Some(s.service_id),
    };
    let order_id = match repo::insert_order(tx, &order, now).await {
        Ok(id) => id,
        Err(e) if crate::db::is_unique_violation(&e) => return Err(Error::Conflict("renewal-unpaid")),
        Err(e) => return Err(e.into()),
    };
    let line = NewLine { order_id, item_zh, item_en, price_fen, discount_fen: 0 };
    let placed = issue(tx, core, &s.account_id, &buyer, "services", &[line], now).await?;
    Ok(placed.invoice_id)
}
