//! Consents and policy versions. Each give or withdraw is a new row (subject, purpose, policy
//! version, given or withdrawn, what exactly, when, from where): the current state is the
//! latest row, the history is all of them. Purposes are a closed list.

mod repo;

use serde::Serialize;

pub use repo::ConsentRow;

use crate::authz::Subject;
use crate::db::{Db, Tx};
use crate::{Result, UnixMs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The privacy policy itself, at sign-up and at each major version.
    PrivacyPolicy,
    /// The notice that personal data is stored in Hong Kong (a cross-border transfer).
    HkStorageNotice,
    /// Sending name and ID number to the real-name verification provider.
    RealName,
    /// SMS notices through the SMS vendor named in `detail`.
    SmsNotices,
}

impl Purpose {
    pub const ALL: [Purpose; 4] =
        [Purpose::PrivacyPolicy, Purpose::HkStorageNotice, Purpose::RealName, Purpose::SmsNotices];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PrivacyPolicy => "privacy_policy",
            Purpose::HkStorageNotice => "hk_storage_notice",
            Purpose::RealName => "real_name",
            Purpose::SmsNotices => "sms_notices",
        }
    }
}

/// Where a give or withdraw came from.
pub struct Given<'a> {
    pub detail: &'a str,
    pub ip: Option<&'a str>,
}

pub async fn current_policy_version(db: &Db) -> Result<i64> {
    Ok(repo::current_policy_version(db).await?)
}

pub async fn give(
    tx: &mut Tx,
    subject: Subject,
    purpose: Purpose,
    version: i64,
    how: Given<'_>,
    now: UnixMs,
) -> Result<()> {
    Ok(repo::insert(tx, subject, purpose, version, true, how, now).await?)
}

pub async fn withdraw(
    tx: &mut Tx,
    subject: Subject,
    purpose: Purpose,
    version: i64,
    how: Given<'_>,
    now: UnixMs,
) -> Result<()> {
    Ok(repo::insert(tx, subject, purpose, version, false, how, now).await?)
}

/// The standing consent for a purpose: the latest row, if it gave consent.
pub async fn current(db: &Db, subject: Subject, purpose: Purpose) -> Result<Option<ConsentRow>> {
    Ok(repo::latest(db, subject, purpose).await?.filter(|r| r.given))
}

/// As [`current`], inside a transaction (a check that must agree with the write it guards).
pub async fn current_in(tx: &mut Tx, subject: Subject, purpose: Purpose) -> Result<Option<ConsentRow>> {
    Ok(repo::latest_in(tx, subject, purpose).await?.filter(|r| r.given))
}

/// Every give and withdraw of a subject, newest first.
pub async fn history(db: &Db, subject: Subject) -> Result<Vec<ConsentRow>> {
    Ok(repo::history(db, subject).await?)
}
