//! Coupons: a percentage or a fixed amount off, valid in a window, with a limit in all and per
//! billing account. Staff with `CatalogManage` create them; checkout redeems them.

use super::repo::{self, CouponRow, NewCoupon};
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal};
use crate::db::Db;
use crate::{Core, Error, Result, UnixMs};

#[derive(Debug, Clone)]
pub struct CouponInput {
    pub code: String,
    /// `percent` or `fixed`.
    pub kind: String,
    /// Percent (1-100) or fen.
    pub value: i64,
    pub valid_from: UnixMs,
    pub valid_until: UnixMs,
    pub max_uses: Option<i64>,
    pub per_account: i64,
}

pub async fn create_coupon(core: &Core, who: &Principal, input: &CouponInput, now: UnixMs) -> Result<i64> {
    who.require(Permission::CatalogManage)?;
    let code = input.code.trim().to_ascii_uppercase();
    if !(3..=32).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return Err(Error::validation("code", "coupon-code"));
    }
    let kind = match input.kind.as_str() {
        "percent" if (1..=100).contains(&input.value) => "percent",
        "fixed" if (1..=100_000_000).contains(&input.value) => "fixed",
        _ => return Err(Error::validation("value", "coupon-value")),
    };
    if input.valid_until.0 <= input.valid_from.0 {
        return Err(Error::validation("valid_until", "coupon-window"));
    }
    if input.max_uses.is_some_and(|n| n < 1) || !(1..=1000).contains(&input.per_account) {
        return Err(Error::validation("max_uses", "coupon-limits"));
    }
    let coupon = NewCoupon {
        code: &code,
        kind,
        value: input.value,
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        max_uses: input.max_uses,
        per_account: input.per_account,
    };
    let mut tx = core.db.begin().await?;
    let id = repo::insert_coupon(&mut tx, &coupon, now).await?.ok_or(Error::validation("code", "coupon-taken"))?;
    audit::record(&mut tx, who, None, Event::new("billing.coupon_create").target("coupon", id), now).await?;
    tx.commit().await?;
    Ok(id)
}

/// The latest 200 coupons with their use counts, for the console.
pub async fn coupons(db: &Db, who: &Principal) -> Result<Vec<CouponRow>> {
    who.require(Permission::CatalogManage)?;
    Ok(repo::coupons(db, 200).await?)
}
