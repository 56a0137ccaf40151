//! The cart: servers a customer configured and has not bought yet. Prices are not stored: the
//! cart shows, and checkout charges, the catalog's price of the moment.

use super::checkout::{self, Catalog, Item, MAX_ITEMS, Placed};
use super::repo::{self, CartRow};
use crate::catalog::Cycle;
use crate::{Core, Error, Result, UnixMs};

/// An item of the cart with what the catalog says of it now.
#[derive(Debug, Clone)]
pub struct CartLine {
    pub id: i64,
    pub item: Item,
    /// Plan · region · duration · image, in both languages; None once the plan or region is
    /// gone or no longer offered like this.
    pub described: Option<(String, String)>,
    pub price_fen: Option<i64>,
}

/// The customer's cart, in the order the items were added.
pub async fn cart(core: &Core, customer_id: i64) -> Result<Vec<CartLine>> {
    let rows = repo::cart(&core.db, customer_id).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let catalog = Catalog::load(core).await?;
    let lines = rows
        .into_iter()
        .filter_map(|row| Some((row.id, item_of(&row)?)))
        .map(|(id, item)| {
            let priced = catalog.price_one(&item).ok();
            let (described, price_fen) = (priced.as_ref().map(checkout::describe), priced.map(|p| p.price_fen()));
            CartLine { id, described, price_fen, item }
        })
        .collect();
    Ok(lines)
}

fn item_of(row: &CartRow) -> Option<Item> {
    let cycle = Cycle::parse(&row.cycle)?;
    Some(Item { plan_id: row.plan_id, region_id: row.region_id, cycle, os_image: row.os_image.clone() })
}

/// Puts a server in the cart once the catalog offers it as configured.
pub async fn add(core: &Core, customer_id: i64, item: &Item, now: UnixMs) -> Result<()> {
    let catalog = Catalog::load(core).await?;
    if catalog.price_one(item)?.in_stock() == 0 {
        return Err(Error::validation("region_id", "out-of-stock"));
    }
    let row = CartRow {
        id: 0,
        plan_id: item.plan_id,
        region_id: item.region_id,
        cycle: item.cycle.as_str().to_string(),
        os_image: item.os_image.clone(),
    };
    let mut tx = core.db.begin().await?;
    if !repo::add_to_cart(&mut tx, customer_id, &row, MAX_ITEMS as i64, now).await? {
        return Err(Error::validation("cart", "cart-full"));
    }
    tx.commit().await?;
    Ok(())
}

/// Takes an item out of the customer's own cart; another customer's item is "not found".
pub async fn remove(core: &Core, customer_id: i64, item_id: i64) -> Result<()> {
    let mut tx = core.db.begin().await?;
    if repo::remove_from_cart(&mut tx, customer_id, &[item_id]).await? == 0 {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// Buys everything in the cart: one invoice, and the cart is empty, in one transaction. Two
/// checkouts of the same cart racing: the second finds the items gone and changes nothing.
pub async fn checkout_cart(core: &Core, customer_id: i64, coupon: &str, now: UnixMs) -> Result<Placed> {
    let rows = repo::cart(&core.db, customer_id).await?;
    let items: Vec<Item> = rows.iter().filter_map(item_of).collect();
    let catalog = Catalog::load(core).await?;
    let priced = catalog.price(&items)?;
    let mut tx = core.db.begin().await?;
    // Taking the items out first claims them: a racing checkout of the same cart finds them
    // gone (or waits on their rows) and stops here.
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    if repo::remove_from_cart(&mut tx, customer_id, &ids).await? != ids.len() {
        return Err(Error::Conflict("cart-changed"));
    }
    let placed = checkout::place(&mut tx, core, customer_id, &priced, coupon, now).await?;
    tx.commit().await?;
    Ok(placed)
}
