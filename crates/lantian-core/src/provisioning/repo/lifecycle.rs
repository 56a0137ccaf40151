//! The SQL of the lifecycle: a job's lease on its service, operations in flight, state changes
//! as the jobs converge, and the periodic scans (renewals, reminders, overdue services).

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::billing::Renewable;
use crate::db::{Db, Tx};
use crate::provisioning::provider::OpRef;
use crate::{UnixMs, on_read, on_tx};

/// Takes the service for one job until `until`, unless another job holds it.
pub async fn lease(db: &Db, id: i64, now: UnixMs, until: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str =
        "UPDATE services SET lease_until = $3 WHERE id = $1 AND (lease_until IS NULL OR lease_until < $2)";
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(SQL).bind(id).bind(now).bind(until).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(n == 1)
}

pub async fn release(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE services SET lease_until = NULL WHERE id = $1").bind(id).execute(c).await?.rows_affected());
    tx.commit().await
}

pub async fn exists(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    on_read!(db, c => sqlx::query_scalar("SELECT COUNT(*) > 0 FROM services WHERE id = $1").bind(id).fetch_one(c).await)
}

/// An upstream operation in flight for one of the lifecycle's actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOp {
    /// `suspend`, `resume`, `terminate`, `start`, `stop`, `reboot`.
    pub action: String,
    pub op: OpRef,
}

/// Stores (or clears, with None) the operation in flight.
pub async fn save_op(db: &Db, id: i64, op: Option<&PendingOp>) -> Result<(), sqlx::Error> {
    let json = op.map(|o| serde_json::to_string(o).unwrap_or_default());
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE services SET op = $2 WHERE id = $1").bind(id).bind(json).execute(c).await?.rows_affected());
    tx.commit().await
}

/// The text staff read for a service whose action keeps failing (NULL: it went through).
pub async fn set_last_error(db: &Db, id: i64, text: Option<&str>) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE services SET last_error = $2 WHERE id = $1").bind(id).bind(text).execute(c).await?.rows_affected());
    tx.commit().await
}

/// The server is now `state` (`active`, `suspended` or `terminated`): the operation and the
/// error are cleared; a terminated service forgets its first-login password. False when it
/// was in that state already.
pub async fn set_state(tx: &mut Tx, id: i64, state: &str, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE services SET state = CAST($2 AS TEXT), op = NULL, last_error = NULL, \
         suspended_at = CASE WHEN CAST($2 AS TEXT) = 'suspended' THEN $3 ELSE NULL END, \
         terminated_at = CASE WHEN CAST($2 AS TEXT) = 'terminated' THEN $3 ELSE terminated_at END, \
         password_enc = CASE WHEN CAST($2 AS TEXT) = 'terminated' THEN NULL ELSE password_enc END, \
         power_request = CASE WHEN CAST($2 AS TEXT) = 'active' THEN power_request ELSE NULL END \
         WHERE id = $1 AND state <> CAST($2 AS TEXT)";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(state).bind(now).execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// A terminated service's vmid and address go back to the pools.
pub async fn release_pools(tx: &mut Tx, id: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE ip_pool SET service_id = NULL WHERE service_id = $1").bind(id).execute(c).await?.rows_affected());
    on_tx!(tx, c => sqlx::query("DELETE FROM vmid_reservations WHERE service_id = $1").bind(id).execute(c).await?.rows_affected());
    Ok(())
}

/// The power action `action` is done (a newer request stays).
pub async fn clear_power(db: &Db, id: i64, action: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE services SET power_request = NULL WHERE id = $1 AND power_request = $2";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(SQL).bind(id).bind(action).execute(c).await?.rows_affected());
    tx.commit().await
}

/// What the service should be now, and why; its new generation (for the job's key). None when
/// it is terminated (nothing changes a terminated service).
pub async fn set_desired(tx: &mut Tx, id: i64, desired: &str, reason: &str) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE services SET desired = $2, desired_reason = $3, generation = generation + 1 \
         WHERE id = $1 AND state <> 'terminated' RETURNING generation";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(id).bind(desired).bind(reason).fetch_optional(c).await)
}

/// Asks for a power action while the service is active and should stay so, with no other
/// action waiting; its new generation, or None when refused.
pub async fn request_power(tx: &mut Tx, id: i64, customer_id: i64, action: &str) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE services SET power_request = $3, generation = generation + 1 \
         WHERE id = $1 AND customer_id = $2 AND state = 'active' AND desired = 'active' \
         AND power_request IS NULL AND op IS NULL RETURNING generation";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(id).bind(customer_id).bind(action).fetch_optional(c).await)
}

/// A job for the service again (staff's retry): the generation bumped, needs_attention back to
/// pending so the create begins again from its checkpoint.
pub async fn bump_for_retry(tx: &mut Tx, id: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE services SET generation = generation + 1, last_error = NULL, \
         state = CASE WHEN state = 'needs_attention' THEN (CASE WHEN password_enc IS NULL THEN 'pending' ELSE 'provisioning' END) ELSE state END \
         WHERE id = $1 AND state <> 'terminated' RETURNING generation";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(id).fetch_optional(c).await)
}

/// The unpaid renewal invoices of the service.
pub async fn unpaid_renewals(tx: &mut Tx, service_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "SELECT l.invoice_id FROM orders o JOIN invoice_lines l ON l.order_id = o.id \
         WHERE o.service_id = $1 AND o.state = 'pending'";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(service_id).fetch_all(c).await)
}

pub async fn expiry_in(tx: &mut Tx, id: i64) -> Result<Option<UnixMs>, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_scalar("SELECT expires_at FROM services WHERE id = $1").bind(id).fetch_one(c).await)
}

/// The upstream bills too: `months` more to renew the server there (by the service's job); its
/// new generation.
pub async fn owe_upstream(tx: &mut Tx, id: i64, months: i64) -> Result<i64, sqlx::Error> {
    const SQL: &str = "UPDATE services SET upstream_renew_months = upstream_renew_months + $2, \
         generation = generation + 1 WHERE id = $1 RETURNING generation";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(id).bind(months).fetch_one(c).await)
}

/// The upstream renewed the server for `months` of what it was owed.
pub async fn paid_upstream(db: &Db, id: i64, months: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE services SET upstream_renew_months = upstream_renew_months - $2, last_error = NULL \
         WHERE id = $1 AND upstream_renew_months >= $2";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(SQL).bind(id).bind(months).execute(c).await?.rows_affected());
    tx.commit().await
}

/// A paid renewal order with its service.
#[derive(Debug, Clone, FromRow)]
pub struct PaidRenewal {
    pub service_id: i64,
    pub months: i64,
    pub state: String,
    pub desired: String,
    pub desired_reason: Option<String>,
    pub expires_at: Option<UnixMs>,
    pub upstream: Option<String>,
}

/// The renewal orders of an invoice just marked paid, with their services.
pub async fn paid_renewals(tx: &mut Tx, invoice_id: i64) -> Result<Vec<PaidRenewal>, sqlx::Error> {
    const SQL: &str = "SELECT s.id AS service_id, o.months, s.state, s.desired, s.desired_reason, s.expires_at, s.upstream \
         FROM invoice_lines l JOIN orders o ON o.id = l.order_id JOIN services s ON s.id = o.service_id \
         WHERE l.invoice_id = $1 AND o.kind = 'renewal' ORDER BY s.id";
    on_tx!(tx, c => sqlx::query_as(SQL).bind(invoice_id).fetch_all(c).await)
}

/// The service runs until `expires_at` now; its reminders begin again.
pub async fn extend(tx: &mut Tx, id: i64, expires_at: UnixMs) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE services SET expires_at = $2, reminded_days = NULL WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(expires_at).execute(c).await?.rows_affected());
    Ok(())
}

/// What a renewal needs of a service (`s`), with its owner's username (`c`), and which.
macro_rules! renewable {
    ($where:literal) => {
        concat!(
            "SELECT s.id AS service_id, s.account_id, c.username AS buyer_username, s.plan_id, s.region_id, \
             s.os_image, s.months FROM services s JOIN customers c ON c.id = s.customer_id WHERE ",
            $where
        )
    };
}

/// Live services expiring before `before` without an unpaid renewal, after `after_id`.
pub async fn due_renewals(db: &Db, before: UnixMs, after_id: i64, limit: i64) -> Result<Vec<Renewable>, sqlx::Error> {
    const SQL: &str = renewable!(
        "s.state IN ('active', 'suspended') AND s.desired <> 'terminated' AND s.expires_at < $1 AND s.id > $2 \
         AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.service_id = s.id AND o.state = 'pending') \
         ORDER BY s.id LIMIT $3"
    );
    on_read!(db, c => sqlx::query_as(SQL).bind(before).bind(after_id).bind(limit).fetch_all(c).await)
}

/// The customer's service as its renewal needs it.
pub async fn renewable(tx: &mut Tx, customer_id: i64, id: i64) -> Result<Option<Renewable>, sqlx::Error> {
    const SQL: &str = renewable!("s.id = $1 AND s.customer_id = $2");
    on_tx!(tx, c => sqlx::query_as(SQL).bind(id).bind(customer_id).fetch_optional(c).await)
}

/// An active service expiring soon, for its reminder.
#[derive(Debug, Clone, FromRow)]
pub struct Expiring {
    pub id: i64,
    pub customer_id: i64,
    pub expires_at: UnixMs,
    pub reminded_days: Option<i64>,
}

/// Active services expiring from `from` to before `before`, not yet reminded at the nearest
/// threshold (the caller decides which), after `after_id`.
pub async fn expiring(
    db: &Db,
    from: UnixMs,
    before: UnixMs,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Expiring>, sqlx::Error> {
    const SQL: &str = "SELECT id, customer_id, expires_at, reminded_days FROM services \
         WHERE state = 'active' AND desired = 'active' AND customer_id IS NOT NULL \
         AND expires_at >= $1 AND expires_at < $2 AND id > $3 AND (reminded_days IS NULL OR reminded_days > 1) \
         ORDER BY id LIMIT $4";
    on_read!(db, c => sqlx::query_as(SQL).bind(from).bind(before).bind(after_id).bind(limit).fetch_all(c).await)
}

/// Marks the reminder `days` sent to each of `ids`, unless a nearer one was (another run got
/// there first); the ids marked.
pub async fn mark_reminded(tx: &mut Tx, ids: &[i64], days: i64) -> Result<Vec<i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    on_tx!(tx, c => {
        let mut q = sqlx::QueryBuilder::new("UPDATE services SET reminded_days = ");
        q.push_bind(days).push(" WHERE (reminded_days IS NULL OR reminded_days > ").push_bind(days).push(") AND id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        q.push(") RETURNING id");
        q.build_query_scalar().fetch_all(c).await
    })
}

/// Up to `limit` services that expired before `before` and are not yet on their way to `to`
/// (`suspended` or `terminated`): now they should be, because they are overdue. Their ids and
/// new generations.
pub async fn mark_overdue(tx: &mut Tx, before: UnixMs, to: &str, limit: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    // Suspension takes active services that should be active; termination takes active or
    // suspended ones that should be either. Staff's order (resume an overdue service, say)
    // holds until staff or a payment change it.
    const SUSPEND: &str = "UPDATE services SET desired = 'suspended', desired_reason = 'overdue', \
         generation = generation + 1 WHERE id IN (SELECT id FROM services WHERE state = 'active' \
         AND desired = 'active' AND expires_at < $1 AND desired_reason IS DISTINCT FROM 'staff' \
         ORDER BY id LIMIT $2) RETURNING id, generation";
    const TERMINATE: &str = "UPDATE services SET desired = 'terminated', desired_reason = 'overdue', \
         generation = generation + 1 WHERE id IN (SELECT id FROM services WHERE state IN ('active', 'suspended') \
         AND desired IN ('active', 'suspended') AND expires_at < $1 AND desired_reason IS DISTINCT FROM 'staff' \
         ORDER BY id LIMIT $2) RETURNING id, generation";
    let sql = if to == "terminated" { TERMINATE } else { SUSPEND };
    on_tx!(tx, c => sqlx::query_as(sql).bind(before).bind(limit).fetch_all(c).await)
}
