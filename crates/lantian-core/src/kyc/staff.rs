//! What compliance staff do with real-name records (C4.2): see them masked, reveal one field
//! with a reason (audited), revoke a verification, and correct one on the customer's request,
//! which asks the provider again.

use super::document::{IdNumber, parse_name, shanghai_today};
use super::repo::{self, Record};
use super::verify::{self, Outcome};
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal};
use crate::billing::checked_reason;
use crate::crypto::Aad;
use crate::{Core, Error, RequestMeta, Result, UnixMs};

/// One page of records with their customers' usernames, masked, newest accounts first;
/// `before_id` pages (0: the first page); optionally one state.
pub async fn records(
    core: &Core,
    who: &Principal,
    state: Option<&str>,
    before_id: i64,
) -> Result<Vec<(Record, String)>> {
    who.require(Permission::ComplianceManage)?;
    let before_id = if before_id <= 0 { i64::MAX } else { before_id };
    Ok(repo::records(&core.db, state, before_id, crate::billing::CONSOLE_PAGE).await?)
}

pub async fn record(core: &Core, who: &Principal, customer_id: i64) -> Result<Record> {
    who.require(Permission::ComplianceManage)?;
    repo::record(&core.db, customer_id).await?.ok_or(Error::NotFound)
}

/// The name (`real_name`) or the number (`id_number`) in full: an audited reveal.
pub async fn reveal(
    core: &Core,
    who: &Principal,
    customer_id: i64,
    field: &str,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<String> {
    who.require(Permission::ComplianceManage)?;
    let (field, column): (&'static str, &'static str) = match field {
        "real_name" => ("real_name", "name_enc"),
        "id_number" => ("id_number", "number_enc"),
        _ => return Err(Error::validation("field", "reveal-field")),
    };
    let fetch = async {
        let (name, number) = repo::sealed(&core.db, customer_id).await?.ok_or(Error::NotFound)?;
        let sealed = if column == "name_enc" { name } else { number };
        let row = format!("customer:{customer_id}");
        Ok(core.keys.open_str(&sealed, Aad { table: "real_name_records", column, row: &row })?.to_string())
    };
    crate::reveal::reveal(core, who, ("customer", customer_id.to_string()), field, reason, meta, now, fetch).await
}

/// Withdraws a verification (a forged document found later, an authority's notice ...): the
/// customer cannot buy or be provisioned in mainland regions until verified again.
pub async fn revoke(
    core: &Core,
    who: &Principal,
    customer_id: i64,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<()> {
    who.require(Permission::ComplianceManage)?;
    let reason = checked_reason(reason)?;
    let mut tx = core.db.begin().await?;
    if !repo::revoke(&mut tx, customer_id, now).await? {
        return Err(Error::Conflict("real-name-not-verified"));
    }
    let ev = Event::new("kyc.revoke").target("customer", customer_id).reason(reason);
    audit::record(&mut tx, who, meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Corrects a verified record on the customer's request: the corrected name and number go to
/// the provider again, and only its match verifies them.
#[allow(clippy::too_many_arguments)]
pub async fn correct(
    core: &Core,
    who: &Principal,
    customer_id: i64,
    name: &str,
    id_number: &str,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<Outcome> {
    who.require(Permission::ComplianceManage)?;
    let reason = checked_reason(reason)?;
    repo::record(&core.db, customer_id).await?.ok_or(Error::NotFound)?;
    let provider = core.kyc.clone().ok_or(Error::validation("real_name", "real-name-unavailable"))?;
    let today = shanghai_today(now);
    let number = IdNumber::parse(id_number, today)?;
    if number.age_on(today) < verify::MIN_AGE {
        return Err(Error::validation("id_number", "id-number-under-16"));
    }
    let name = parse_name(name)?;
    verify::start(core, provider, who, customer_id, &name, &number, Some(reason), meta, now).await
}
