//! Real-name verification (实名认证) and the age rules that come with it.
//!
//! - `verify`: the customer's consent and submission, the age computed locally before any
//!   provider call, the provider's verdict, retries.
//! - `guardian`: the written consent of a guardian for customers of 16 and 17.
//! - `child`: closing an account that belongs to a child under 16.
//! - `staff`: compliance staff's reveal, revocation and correction.
//! - `document`: ID numbers and names; `provider`: the verification providers' clients.
//!
//! Name and number are sealed with the key ring (AAD `real_name_records/<column>/customer:<id>`),
//! found by an HMAC blind index, masked everywhere else, and never logged.

pub mod child;
pub mod document;
pub mod guardian;
pub mod provider;
mod repo;
pub mod staff;
pub mod verify;

pub use repo::{GuardianConsent, Record};
pub use verify::{Outcome, Submission, submit};

use crate::billing;
use crate::catalog;
use crate::{Core, Result};

/// The customer's record, if they ever submitted one.
pub async fn record(core: &Core, customer_id: i64) -> Result<Option<Record>> {
    Ok(repo::record(&core.db, customer_id).await?)
}

/// The gate again just before a server is created in `region_id` (C1.2): staff may have
/// revoked a verification, or a guardian's consent may be missing, since checkout.
pub async fn may_provision(core: &Core, customer_id: i64, region_id: i64) -> Result<()> {
    let region = catalog::region(&core.db, region_id).await?;
    billing::may_buy(&core.db, customer_id, region.real_name_required).await
}
