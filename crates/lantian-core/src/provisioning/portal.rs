//! What a customer sees of and does with their servers: the list and detail, power actions,
//! renewal, and the first-login password (shown until the customer says they saved it).
//! Every function takes the customer's id and refuses another customer's service as NotFound.

use std::time::Duration;

use serde::Serialize;
use sqlx::FromRow;
use zeroize::Zeroizing;

use super::job::{self, server_name};
use super::repo::lifecycle as repo;
use super::repo::views;
use crate::billing::{self, Prices};
use crate::crypto::Aad;
use crate::ratelimit::{self, Decision};
use crate::{Core, Error, Result, UnixMs};

/// Power actions per customer per minute.
const POWER_PER_MINUTE: u32 = 10;

/// A customer's server as the portal shows it.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Service {
    pub id: i64,
    pub order_id: i64,
    pub plan_id: i64,
    pub plan_zh: String,
    pub plan_en: String,
    pub region_id: i64,
    pub region_zh: String,
    pub region_en: String,
    pub os_image: String,
    pub months: i64,
    /// `pending`, `provisioning`, `active`, `suspended`, `terminated` or `needs_attention`.
    pub state: String,
    /// What the jobs are taking it to: `active`, `suspended` or `terminated`.
    pub desired: String,
    /// Why: `overdue`, `paid`, `staff` (staff's order) or `closure`; None for a new service.
    pub desired_reason: Option<String>,
    pub ip: Option<String>,
    /// A power action asked for and not yet done.
    pub power_request: Option<String>,
    /// An upstream operation runs on it now.
    pub busy: bool,
    /// The first-login password can be shown (held, and the server is active).
    pub has_password: bool,
    /// The unpaid renewal invoice, if one is issued.
    pub renewal_invoice_id: Option<i64>,
    pub created_at: UnixMs,
    pub activated_at: Option<UnixMs>,
    pub expires_at: Option<UnixMs>,
    pub suspended_at: Option<UnixMs>,
    pub terminated_at: Option<UnixMs>,
}

impl Service {
    /// `lc-<id>`: the server's name at the upstream and in every notice.
    pub fn name(&self) -> String {
        server_name(self.id)
    }
}

/// The most services a list shows.
const LIST_LIMIT: i64 = 500;

/// The customer's services, newest first.
pub async fn services_of(core: &Core, customer_id: i64) -> Result<Vec<Service>> {
    Ok(views::services_of(&core.db, customer_id, LIST_LIMIT).await?)
}

/// One of the customer's services; another customer's is NotFound.
pub async fn service_of(core: &Core, customer_id: i64, id: i64) -> Result<Service> {
    views::service_of(&core.db, customer_id, id).await?.ok_or(Error::NotFound)
}

/// Asks for `start`, `stop` or `reboot`; the `provision` job does it. Refused while the server
/// is not running and should be (suspended, not yet created, terminated), while another action
/// or operation is under way, and beyond [`POWER_PER_MINUTE`].
pub async fn power(core: &Core, customer_id: i64, id: i64, action: &str, now: UnixMs) -> Result<()> {
    if job::power_action(action).is_none() {
        return Err(Error::validation("action", "service-action"));
    }
    let s = service_of(core, customer_id, id).await?;
    let key = format!("power:{customer_id}");
    if let Decision::RetryAfter(retry_after) =
        ratelimit::hit(&core.db, &key, Duration::from_secs(60), POWER_PER_MINUTE, now).await?
    {
        return Err(Error::RateLimited { retry_after });
    }
    let mut tx = core.db.begin().await?;
    let Some(generation) = repo::request_power(&mut tx, id, customer_id, action).await? else {
        return Err(match (s.state.as_str(), s.desired.as_str()) {
            ("suspended", _) | (_, "suspended") => Error::validation("service", "service-suspended"),
            ("active", "active") => Error::validation("service", "service-busy"),
            _ => Error::validation("service", "service-not-running"),
        });
    };
    job::enqueue(&mut tx, core, id, generation, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The service's unpaid renewal invoice: the one issued, or a new one now. Only a live service
/// (active or suspended, not on its way out) can be renewed.
pub async fn renew(core: &Core, customer_id: i64, id: i64, now: UnixMs) -> Result<i64> {
    let s = service_of(core, customer_id, id).await?;
    if let Some(invoice) = s.renewal_invoice_id {
        return Ok(invoice);
    }
    if !matches!(s.state.as_str(), "active" | "suspended") || s.desired == "terminated" {
        return Err(Error::validation("service", "service-not-renewable"));
    }
    let prices = Prices::load(core).await?;
    let mut tx = core.db.begin().await?;
    let renewable = repo::renewable(&mut tx, customer_id, id).await?.ok_or(Error::NotFound)?;
    match billing::issue_renewal(&mut tx, core, &prices, &renewable, now).await {
        Ok(invoice) => {
            tx.commit().await?;
            Ok(invoice)
        }
        // Issued meanwhile (the lifecycle, or a second click): that one.
        Err(Error::Conflict(_)) => {
            drop(tx);
            service_of(core, customer_id, id).await?.renewal_invoice_id.ok_or(Error::Conflict("renewal-unpaid"))
        }
        Err(e) => Err(e),
    }
}

/// The first-login password, while the customer has not said they saved it (another
/// customer's service: NotFound).
pub async fn first_login_password(core: &Core, customer_id: i64, id: i64) -> Result<Option<Zeroizing<String>>> {
    service_of(core, customer_id, id).await?;
    let Some(sealed) = views::sealed_password(&core.db, customer_id, id).await? else { return Ok(None) };
    let row = format!("service:{id}");
    let aad = Aad { table: "services", column: "password_enc", row: &row };
    Ok(Some(core.keys.open_str(&sealed, aad)?))
}

/// The customer saved the first-login password: we forget it.
pub async fn forget_password(core: &Core, customer_id: i64, id: i64) -> Result<()> {
    service_of(core, customer_id, id).await?;
    Ok(views::forget_password(&core.db, customer_id, id).await?)
}
