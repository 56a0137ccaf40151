//! The disclosure ledger (C3.1): every time personal data leaves for a third party, one row
//! says who received which fields, why, and for what object. One row per recipient, purpose
//! and object: retries and polls of the same disclosure do not add rows.

mod repo;

use serde::Serialize;

pub use repo::DisclosureRow;

use crate::authz::Subject;
use crate::db::{Db, Tx};
use crate::{Result, UnixMs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    PaymentGateway,
    RealNameProvider,
    UpstreamProvider,
    SmsVendor,
    SmtpRelay,
    Authority,
}

impl Recipient {
    pub fn as_str(self) -> &'static str {
        match self {
            Recipient::PaymentGateway => "payment_gateway",
            Recipient::RealNameProvider => "real_name_provider",
            Recipient::UpstreamProvider => "upstream_provider",
            Recipient::SmsVendor => "sms_vendor",
            Recipient::SmtpRelay => "smtp_relay",
            Recipient::Authority => "authority",
        }
    }
}

/// One disclosure: to whom (kind and name), which fields, why, about what.
pub struct Disclosure<'a> {
    pub recipient: Recipient,
    pub recipient_name: &'a str,
    pub fields: &'a [&'a str],
    pub purpose: &'a str,
    pub object: (&'a str, String),
}

/// Records a disclosure in the transaction that makes it; true when it is new.
pub async fn disclose(tx: &mut Tx, subject: Subject, d: Disclosure<'_>, now: UnixMs) -> Result<bool> {
    Ok(repo::insert(tx, subject, &d, now).await?)
}

/// The subject's own rows, newest first (the privacy centre shows them).
pub async fn for_subject(db: &Db, subject: Subject) -> Result<Vec<DisclosureRow>> {
    Ok(repo::for_subject(db, subject).await?)
}
