//! A customer's verification: consent, the number checked and the age computed here first,
//! then one place per number claimed, the submission sealed and disclosed, the provider asked,
//! and its verdict applied. A provider that fails leaves the record pending; the periodic task
//! `kyc.retry` asks again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::ToSpan;
use jiff::civil::Date;

use super::document::{IdNumber, parse_name, shanghai_today};
use super::provider::{RealNameProvider, Verdict};
use super::repo::{self, Pending};
use crate::audit::{self, Event};
use crate::authz::{Principal, Subject};
use crate::consents::{self, Given, Purpose};
use crate::crypto::Aad;
use crate::crypto::mask;
use crate::disclosures::{self, Disclosure, Recipient};
use crate::jobs::{Periodic, PeriodicTask};
use crate::ratelimit::{self, Decision};
use crate::{Core, Error, RequestMeta, Result, UnixMs};

/// Below this age nothing is sent and the account is closed (C7.2).
pub const MIN_AGE: i16 = 16;
/// Below this age a guardian's written consent is needed before buying (C7.1).
pub const ADULT_AGE: i16 = 18;

/// What the customer typed, and whether they ticked the consent box.
pub struct Submission<'a> {
    pub consent: bool,
    pub name: &'a str,
    pub id_number: &'a str,
}

/// How a submission ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Verified,
    /// The provider says the name and number do not belong together, or knows no such number.
    Rejected,
    /// The provider could not answer; it is asked again later.
    Pending,
    /// The number shows a child under 16: nothing was sent or kept, the account is closed.
    ChildClosed,
}

/// The customer's own verification (C1.2, C1.3, C3.4, C7.1, C7.2).
pub async fn submit(
    core: &Core,
    customer_id: i64,
    s: &Submission<'_>,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<Outcome> {
    if !s.consent {
        return Err(Error::validation("consent", "real-name-consent-required"));
    }
    let provider = core.kyc.clone().ok_or(Error::validation("real_name", "real-name-unavailable"))?;
    // Verified data is changed by staff only (C4.2); a pending one is still being checked.
    if repo::record(&core.db, customer_id).await?.is_some_and(|r| matches!(r.state.as_str(), "verified" | "pending")) {
        return Err(Error::Conflict("real-name-not-open"));
    }
    let today = shanghai_today(now);
    let number = IdNumber::parse(s.id_number, today)?;
    // The age comes first, from the number alone, before anything is stored or sent.
    if number.age_on(today) < MIN_AGE {
        drop(number);
        super::child::close(core, &Principal::System, customer_id, "id-number-under-16", meta, now).await?;
        return Ok(Outcome::ChildClosed);
    }
    let name = parse_name(s.name)?;
    let key = format!("kyc:{customer_id}");
    let limit = core.config.kyc.attempts_per_day;
    if let Decision::RetryAfter(_) = ratelimit::hit(&core.db, &key, Duration::from_secs(86_400), limit, now).await? {
        return Err(Error::validation("real_name", "real-name-attempts"));
    }
    let mut tx = core.db.begin().await?;
    let version = consents::current_policy_version(&core.db).await?;
    let given = Given { detail: provider.name(), ip: meta.ip.as_deref() };
    consents::give(&mut tx, Subject::customer(customer_id), Purpose::RealName, version, given, now).await?;
    tx.commit().await?;
    let who = Principal::Customer(customer_id);
    start(core, provider, &who, customer_id, &name, &number, None, meta, now).await
}

/// Seals and files the submission, asks the provider, applies the verdict. `correction`: staff
/// correcting a record on the customer's request, with their reason; it may replace a verified
/// record.
#[allow(clippy::too_many_arguments)]
pub(super) async fn start(
    core: &Core,
    provider: Arc<dyn RealNameProvider>,
    who: &Principal,
    customer_id: i64,
    name: &str,
    number: &IdNumber,
    correction: Option<&str>,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<Outcome> {
    let row = format!("customer:{customer_id}");
    let index = core.keys.blind_index("real_name_records.number", number.as_str());
    let name_enc = core.keys.seal_str(name, Aad { table: "real_name_records", column: "name_enc", row: &row });
    let number_enc =
        core.keys.seal_str(number.as_str(), Aad { table: "real_name_records", column: "number_enc", row: &row });
    let adult_at = adult_at(number.birth_date(), shanghai_today(now));
    let mut tx = core.db.begin().await?;
    let taken = repo::taken_slots(&mut tx, &index, customer_id).await?;
    let max = i64::from(core.config.kyc.max_accounts_per_id);
    // The place does not say which account holds the number: the answer is the same for all.
    let slot = (1..=max).find(|s| !taken.contains(s)).ok_or(Error::validation("id_number", "id-number-in-use"))?;
    let pending = Pending {
        customer_id,
        document_kind: number.kind().as_str(),
        name_enc: &name_enc,
        number_enc: &number_enc,
        name_masked: &mask::name(name),
        number_masked: &number.masked(),
        number_index: &index,
        number_slot: slot,
        adult_at,
        provider: provider.name(),
    };
    // Well after the provider's time-out: the call in flight has answered or failed by then.
    let orphaned_after = Duration::from_secs(core.config.kyc.timeout_secs + 60);
    match repo::put_pending(&mut tx, &pending, correction.is_some(), now.plus(orphaned_after), now).await {
        Ok(true) => {}
        Ok(false) => return Err(Error::Conflict("real-name-not-open")),
        // Another account took the same place of the same number a moment ago.
        Err(e) if crate::db::is_unique_violation(&e) => return Err(Error::validation("id_number", "id-number-in-use")),
        Err(e) => return Err(e.into()),
    }
    // One row per verification (this submission), not per retry.
    let disclosure = Disclosure {
        recipient: Recipient::RealNameProvider,
        recipient_name: provider.name(),
        fields: provider.disclosed_fields(),
        purpose: "real_name",
        object: ("real_name_record", format!("{customer_id}:{}", now.0)),
    };
    disclosures::disclose(&mut tx, Subject::customer(customer_id), disclosure, now).await?;
    let ev = match correction {
        None => Event::new("kyc.submit"),
        Some(reason) => Event::new("kyc.correct").reason(reason),
    };
    let ev = ev.target("customer", customer_id).fields(&["real_name", "id_number"]);
    audit::record(&mut tx, who, meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    let verdict = provider.verify(name, number.as_str()).await;
    apply(core, customer_id, &verdict, 0, now).await
}

/// The start of the 18th birthday in Asia/Shanghai for a customer not yet 18; None for adults.
fn adult_at(birth: Date, today: Date) -> Option<UnixMs> {
    // 29 February birthdays fall on 1 March in other years.
    let eighteenth = birth.checked_add(i64::from(ADULT_AGE).years()).ok()?;
    let eighteenth = if birth.month() == 2 && birth.day() == 29 && eighteenth.day() == 28 {
        eighteenth.tomorrow().ok()?
    } else {
        eighteenth
    };
    if eighteenth <= today {
        return None;
    }
    let zoned = eighteenth.to_zoned(crate::clock::china()).ok()?;
    Some(UnixMs(zoned.timestamp().as_millisecond()))
}

/// Applies the provider's verdict to a pending record; `tries` so far sets the next wait.
async fn apply(core: &Core, customer_id: i64, verdict: &Verdict, tries: i64, now: UnixMs) -> Result<Outcome> {
    let mut tx = core.db.begin().await?;
    let outcome = match verdict {
        Verdict::Match { request_id } => {
            repo::mark_verified(&mut tx, customer_id, request_id, now).await?;
            Outcome::Verified
        }
        Verdict::Mismatch { request_id } => {
            repo::mark_rejected(&mut tx, customer_id, "mismatch", request_id).await?;
            Outcome::Rejected
        }
        Verdict::NotFound { request_id } => {
            repo::mark_rejected(&mut tx, customer_id, "not_found", request_id).await?;
            Outcome::Rejected
        }
        Verdict::ProviderError { code, retryable } => {
            repo::mark_retry(&mut tx, customer_id, code, now.plus(retry_wait(tries, *retryable))).await?;
            Outcome::Pending
        }
    };
    let action = match outcome {
        Outcome::Verified => "kyc.verified",
        Outcome::Rejected => "kyc.rejected",
        _ => "kyc.provider_error",
    };
    let ev = Event::new(action).target("customer", customer_id);
    audit::record(&mut tx, &Principal::System, None, ev, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// 1, 2, 4 ... minutes up to an hour; an error that needs staff (credentials, quota) waits an
/// hour at once.
fn retry_wait(tries: i64, retryable: bool) -> Duration {
    let minutes = if retryable { 1u64 << tries.clamp(0, 6) } else { 60 };
    Duration::from_secs(minutes.min(60) * 60)
}

/// The periodic task `kyc.retry`.
pub struct Retry;

pub fn retry_task() -> PeriodicTask {
    PeriodicTask::new("kyc.retry", Duration::from_secs(60), Retry)
}

#[async_trait]
impl Periodic for Retry {
    async fn run(&self, core: &Core) -> Result<()> {
        retry_due(core, core.now()).await.map(|_| ())
    }
}

/// Asks the provider again for pending records that are due; how many it asked about.
pub async fn retry_due(core: &Core, now: UnixMs) -> Result<usize> {
    let Some(provider) = core.kyc.clone() else { return Ok(0) };
    let due = repo::due_retries(&core.db, now, 50).await?;
    let mut asked = 0;
    for customer_id in due {
        // A lease longer than the provider's time-out: another worker leaves it alone meanwhile.
        let mut tx = core.db.begin().await?;
        let claimed = repo::claim_retry(&mut tx, customer_id, now, now.plus(Duration::from_secs(600))).await?;
        tx.commit().await?;
        let Some(c) = claimed else { continue };
        let row = format!("customer:{customer_id}");
        let open = |env: &str, column| core.keys.open_str(env, Aad { table: "real_name_records", column, row: &row });
        let (name, number) = (open(&c.name_enc, "name_enc")?, open(&c.number_enc, "number_enc")?);
        let verdict = provider.verify(&name, &number).await;
        apply(core, customer_id, &verdict, c.tries, now).await?;
        asked += 1;
    }
    Ok(asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adults_have_no_coming_of_age_and_leap_day_birthdays_come_on_1_march() {
        let d = |y, m, day| Date::new(y, m, day).unwrap();
        assert_eq!(adult_at(d(2000, 1, 1), d(2026, 11, 29)), None);
        let at = adult_at(d(2009, 6, 1), d(2026, 11, 29)).unwrap();
        assert_eq!(at.to_timestamp().to_string(), "2027-05-31T16:00:00Z", "midnight in Shanghai");
        let leap = adult_at(d(2012, 2, 29), d(2026, 11, 29)).unwrap();
        assert_eq!(leap.to_timestamp().to_string(), "2030-02-28T16:00:00Z");
        assert_eq!(retry_wait(0, true), Duration::from_secs(60));
        assert_eq!(retry_wait(10, true), Duration::from_secs(3600));
        assert_eq!(retry_wait(0, false), Duration::from_secs(3600));
    }
}
