//! A guardian's written consent for a customer of 16 or 17 (C7.1): the customer uploads the
//! signed document with the guardian's name and relationship; compliance staff approve or
//! reject it with a reason. The document is sealed with the key ring and deleted when the
//! customer turns 18 (the periodic task `kyc.coming_of_age`) or the account closes.

use std::time::Duration;

use async_trait::async_trait;

use super::document::parse_name;
use super::repo::{self, GuardianConsent, NewConsent, Record};
use crate::audit::{self, Event};
use crate::authz::{Permission, Principal};
use crate::billing::checked_reason;
use crate::crypto::Aad;
use crate::jobs::{Periodic, PeriodicTask};
use crate::{Core, Error, RequestMeta, Result, UnixMs};

/// The largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;

/// What the customer uploads.
pub struct Upload<'a> {
    pub guardian_name: &'a str,
    /// `father`, `mother` or `guardian`.
    pub relationship: &'a str,
    pub document: &'a [u8],
}

/// The document's type from its first bytes, whatever the browser claimed: a PDF, a JPEG or a
/// PNG, nothing else.
pub fn sniff(document: &[u8]) -> Option<&'static str> {
    if document.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if document.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if document.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// A customer verified as under 18 buys only once staff approved a guardian's consent.
pub fn needed(record: Option<&Record>, consents: &[GuardianConsent], now: UnixMs) -> bool {
    let minor = record.is_some_and(|r| r.state == "verified" && r.adult_at.is_some_and(|at| at > now));
    minor && !consents.iter().any(|c| c.state == "approved")
}

/// Files the consent for staff to review. Only a verified customer of 16 or 17 has one to give,
/// and one at a time.
pub async fn upload(core: &Core, customer_id: i64, u: &Upload<'_>, meta: &RequestMeta, now: UnixMs) -> Result<i64> {
    let record = repo::record(&core.db, customer_id).await?;
    let Some(delete_at) = record.filter(|r| r.state == "verified").and_then(|r| r.adult_at) else {
        return Err(Error::validation("document", "guardian-not-needed"));
    };
    if u.document.is_empty() || u.document.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::validation("document", "guardian-document-size"));
    }
    let content_type = sniff(u.document).ok_or(Error::validation("document", "guardian-document-type"))?;
    if !matches!(u.relationship, "father" | "mother" | "guardian") {
        return Err(Error::validation("relationship", "guardian-relationship"));
    }
    let guardian_name =
        parse_name(u.guardian_name).map_err(|_| Error::validation("guardian_name", "real-name-invalid"))?;
    let row = format!("customer:{customer_id}");
    let aad = |column| Aad { table: "guardian_consents", column, row: &row };
    let name_enc = core.keys.seal_str(&guardian_name, aad("guardian_name_enc"));
    let document_enc = core.keys.seal(u.document, aad("document_enc"));
    let consent = NewConsent {
        customer_id,
        guardian_name_enc: &name_enc,
        relationship: u.relationship,
        document_enc: &document_enc,
        content_type,
        size_bytes: u.document.len() as i64,
        delete_at,
    };
    let mut tx = core.db.begin().await?;
    let id = repo::insert_consent(&mut tx, &consent, now).await?.ok_or(Error::Conflict("guardian-consent-open"))?;
    let ev = Event::new("kyc.guardian_upload").target("guardian_consent", id).fields(&["guardian_name", "document"]);
    audit::record(&mut tx, &Principal::Customer(customer_id), meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// The customer's consents, newest first.
pub async fn consents_of(core: &Core, customer_id: i64) -> Result<Vec<GuardianConsent>> {
    Ok(repo::consents_of(&core.db, customer_id).await?)
}

/// The consents waiting for review.
pub async fn pending(core: &Core, who: &Principal) -> Result<Vec<GuardianConsent>> {
    who.require(Permission::ComplianceManage)?;
    Ok(repo::pending_consents(&core.db, 100).await?)
}

/// Staff approve (the customer may buy from now) or reject (the reason is shown to them).
pub async fn review(
    core: &Core,
    who: &Principal,
    id: i64,
    approve: bool,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<()> {
    who.require(Permission::ComplianceManage)?;
    let Principal::Staff { id: staff_id, .. } = who else { return Err(Error::Forbidden) };
    let reason = checked_reason(reason)?;
    repo::consent(&core.db, id).await?.ok_or(Error::NotFound)?;
    let mut tx = core.db.begin().await?;
    if repo::review_consent(&mut tx, id, approve, reason, *staff_id, now).await?.is_none() {
        return Err(Error::Conflict("guardian-consent-not-pending"));
    }
    let action = if approve { "kyc.guardian_approve" } else { "kyc.guardian_reject" };
    let ev = Event::new(action).target("guardian_consent", id).reason(reason);
    audit::record(&mut tx, who, meta.request_id.as_deref(), ev, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The guardian's name and the document in full, for staff reviewing it: an audited reveal.
pub async fn reveal(
    core: &Core,
    who: &Principal,
    id: i64,
    reason: &str,
    meta: &RequestMeta,
    now: UnixMs,
) -> Result<(String, &'static str, Vec<u8>)> {
    who.require(Permission::ComplianceManage)?;
    let (customer_id, name_enc, document_enc) = repo::consent_sealed(&core.db, id).await?.ok_or(Error::NotFound)?;
    let row = format!("customer:{customer_id}");
    let aad = |column| Aad { table: "guardian_consents", column, row: &row };
    // Both open before the reveal is recorded: a value that fails to open is not revealed.
    let document = core.keys.open(&document_enc, aad("document_enc"))?.to_vec();
    let fetch = async { Ok(core.keys.open_str(&name_enc, aad("guardian_name_enc"))?.to_string()) };
    let target = ("guardian_consent", id.to_string());
    let name = crate::reveal::reveal(core, who, target, "guardian_consent", reason, meta, now, fetch).await?;
    Ok((name, sniff(&document).unwrap_or("application/octet-stream"), document))
}

/// The periodic task `kyc.coming_of_age` (hourly).
pub struct ComingOfAge;

pub fn coming_of_age_task() -> PeriodicTask {
    PeriodicTask::new("kyc.coming_of_age", Duration::from_secs(3600), ComingOfAge)
}

#[async_trait]
impl Periodic for ComingOfAge {
    async fn run(&self, core: &Core) -> Result<()> {
        let mut tx = core.db.begin().await?;
        let deleted = repo::come_of_age(&mut tx, core.now()).await?;
        tx.commit().await?;
        if deleted > 0 {
            core.db.checkpoint_after_erasure().await?;
        }
        Ok(())
    }
}
