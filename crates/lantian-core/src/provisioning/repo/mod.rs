//! The SQL of provisioning: services, plans' targets, and the vmid and address pools
//! ([`lifecycle`]: the periodic scans and what the jobs change as they converge; [`views`]:
//! what customers and staff read).

pub mod lifecycle;
pub mod reconcile;
pub mod views;

use sqlx::FromRow;

use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

/// A service made for a paid order, and the state it starts in.
#[derive(Debug, Clone, FromRow)]
pub struct NewService {
    pub id: i64,
    /// `pending` (its plan has a target in its region: the job creates it) or `needs_attention`.
    pub state: String,
}

/// A service for each server order of an invoice just marked paid, with the target its plan
/// has in its region, in one statement; an order without a target waits for staff with
/// `no_target` as its error. An order that has its service already gets none (one per order).
/// No `state` test on the orders: they were just marked paid, and the test would lead SQLite
/// down the `orders_state` index past every paid order.
pub async fn insert_services(
    tx: &mut Tx,
    invoice_id: i64,
    no_target: &str,
    now: UnixMs,
) -> Result<Vec<NewService>, sqlx::Error> {
    const SQL: &str = "INSERT INTO services (order_id, account_id, customer_id, plan_id, region_id, os_image, months, \
         upstream, target, state, desired, last_error, created_at) \
         SELECT o.id, o.account_id, a.customer_id, o.plan_id, o.region_id, o.os_image, o.months, t.upstream, t.target, \
         CASE WHEN t.upstream IS NOT NULL AND t.target IS NOT NULL THEN 'pending' ELSE 'needs_attention' END, 'active', \
         CASE WHEN t.upstream IS NOT NULL AND t.target IS NOT NULL THEN NULL ELSE CAST($2 AS TEXT) END, \
         CAST($3 AS BIGINT) \
         FROM invoice_lines l JOIN orders o ON o.id = l.order_id JOIN billing_accounts a ON a.id = o.account_id \
         LEFT JOIN plan_targets t ON t.plan_id = o.plan_id AND t.region_id = o.region_id \
         WHERE l.invoice_id = $1 AND o.kind = 'new' \
         AND o.plan_id IS NOT NULL AND o.region_id IS NOT NULL AND o.os_image IS NOT NULL ORDER BY o.id \
         ON CONFLICT (order_id) DO NOTHING RETURNING id, state";
    on_tx!(tx, c => sqlx::query_as(SQL).bind(invoice_id).bind(no_target).bind(now).fetch_all(c).await)
}

/// A service as the provision job needs it: with its plan's sizes and the customer's
/// real-name status.
#[derive(Debug, Clone, FromRow)]
pub struct JobService {
    pub id: i64,
    pub account_id: String,
    pub customer_id: Option<i64>,
    pub region_id: i64,
    pub os_image: String,
    pub months: i64,
    pub upstream: Option<String>,
    pub target: Option<String>,
    pub state: String,
    pub desired: String,
    pub desired_reason: Option<String>,
    pub checkpoint: Option<String>,
    pub password_enc: Option<String>,
    pub remote_id: Option<String>,
    pub node: Option<String>,
    /// An upstream operation in flight (JSON [`lifecycle::PendingOp`]).
    pub op: Option<String>,
    pub power_request: Option<String>,
    /// Months paid here that the upstream (a reseller) has not been paid for yet.
    pub upstream_renew_months: i64,
    pub vcpu: i64,
    pub memory_mb: i64,
    pub disk_gb: i64,
    pub bandwidth_mbps: i64,
    pub real_name_verified_at: Option<UnixMs>,
    /// What the service already holds from the pools (reserved on its first run).
    pub held_vmid: Option<i64>,
    #[sqlx(flatten)]
    pub held_ip: HeldIp,
}

/// The service's address, when it holds one (a LEFT JOIN's columns).
#[derive(Debug, Clone, FromRow)]
pub struct HeldIp {
    pub address: Option<String>,
    pub prefix_len: Option<i64>,
    pub gateway: Option<String>,
}

impl HeldIp {
    pub fn lease(self) -> Option<Lease> {
        Some(Lease { address: self.address?, prefix_len: self.prefix_len?, gateway: self.gateway? })
    }
}

pub async fn for_job(db: &Db, id: i64) -> Result<Option<JobService>, sqlx::Error> {
    const SQL: &str = "SELECT s.id, s.account_id, s.customer_id, s.region_id, s.os_image, s.months, s.upstream, \
         s.target, s.state, s.desired, s.desired_reason, s.checkpoint, s.password_enc, s.remote_id, \
         s.node, s.op, s.power_request, s.upstream_renew_months, p.vcpu, p.memory_mb, p.disk_gb, \
         p.bandwidth_mbps, c.real_name_verified_at, v.vmid AS held_vmid, i.address, i.prefix_len, i.gateway \
         FROM services s JOIN plans p ON p.id = s.plan_id LEFT JOIN customers c ON c.id = s.customer_id \
         LEFT JOIN vmid_reservations v ON v.service_id = s.id LEFT JOIN ip_pool i ON i.service_id = s.id \
         WHERE s.id = $1";
    on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

/// pending → provisioning, with the sealed first login password; false when it was not pending.
pub async fn start(tx: &mut Tx, id: i64, password_enc: &str) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE services SET state = 'provisioning', password_enc = $2, last_error = NULL \
         WHERE id = $1 AND state = 'pending'";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(password_enc).execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// While pending or provisioning: the service waits for staff, with why.
pub async fn needs_attention(tx: &mut Tx, id: i64, why: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE services SET state = 'needs_attention', last_error = $2 \
         WHERE id = $1 AND state IN ('pending', 'provisioning')";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(why).execute(c).await?.rows_affected());
    Ok(())
}

/// Stores the create's checkpoint (JSON; NULL to begin again) while provisioning.
pub async fn save_checkpoint(tx: &mut Tx, id: i64, checkpoint: Option<&str>) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE services SET checkpoint = $2 WHERE id = $1 AND state = 'provisioning'";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(checkpoint).execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// The server exists and runs.
pub struct Activated<'a> {
    pub remote_id: &'a str,
    pub node: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub expires_at: UnixMs,
}

/// provisioning → active; false when it was no longer provisioning.
pub async fn activate(tx: &mut Tx, id: i64, a: &Activated<'_>, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE services SET state = 'active', remote_id = $2, node = $3, ip = $4, checkpoint = NULL, \
         last_error = NULL, activated_at = $5, expires_at = $6 WHERE id = $1 AND state = 'provisioning'";
    let n = on_tx!(tx, c => sqlx::query(SQL)
        .bind(id).bind(a.remote_id).bind(a.node).bind(a.ip).bind(now).bind(a.expires_at)
        .execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// The vmid the service holds at the upstream.
pub async fn vmid_of(tx: &mut Tx, upstream: &str, service_id: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT vmid FROM vmid_reservations WHERE upstream = $1 AND service_id = $2";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(upstream).bind(service_id).fetch_optional(c).await)
}

/// The lowest vmid in `first..=last` that no row holds: `first`, or one above a held one.
pub async fn lowest_free_vmid(tx: &mut Tx, upstream: &str, first: i64, last: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT MIN(x.v) FROM (SELECT CAST($2 AS BIGINT) AS v \
         UNION ALL SELECT vmid + 1 FROM vmid_reservations WHERE upstream = $1) x \
         WHERE x.v BETWEEN $2 AND $3 \
         AND NOT EXISTS (SELECT 1 FROM vmid_reservations r WHERE r.upstream = $1 AND r.vmid = x.v)";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(upstream).bind(first).bind(last).fetch_one(c).await)
}

/// Takes the vmid for the service; false when a row holds it already (taken meanwhile).
pub async fn insert_vmid(tx: &mut Tx, upstream: &str, vmid: i64, service_id: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO vmid_reservations (upstream, vmid, service_id) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING";
    let n =
        on_tx!(tx, c => sqlx::query(SQL).bind(upstream).bind(vmid).bind(service_id).execute(c).await?.rows_affected());
    Ok(n == 1)
}

/// The service lets go of the vmid, which stays held by nobody: a VM not ours sits there.
pub async fn disown_vmid(tx: &mut Tx, upstream: &str, vmid: i64, service_id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE vmid_reservations SET service_id = NULL \
         WHERE upstream = $1 AND vmid = $2 AND service_id = $3";
    on_tx!(tx, c => sqlx::query(SQL).bind(upstream).bind(vmid).bind(service_id).execute(c).await?.rows_affected());
    Ok(())
}

/// An address of the pool with its network.
#[derive(Debug, Clone, FromRow)]
pub struct Lease {
    pub address: String,
    pub prefix_len: i64,
    pub gateway: String,
}

pub async fn ip_of(tx: &mut Tx, service_id: i64) -> Result<Option<Lease>, sqlx::Error> {
    const SQL: &str = "SELECT address, prefix_len, gateway FROM ip_pool WHERE service_id = $1";
    on_tx!(tx, c => sqlx::query_as(SQL).bind(service_id).fetch_optional(c).await)
}

/// Takes a free address of the upstream for the service; None when none was free (or another
/// service took the one chosen meanwhile: the caller tries again).
pub async fn take_ip(tx: &mut Tx, upstream: &str, service_id: i64) -> Result<Option<Lease>, sqlx::Error> {
    // Any free address will do: text order differs between the backends, and nothing needs one
    // address before another. PostgreSQL skips addresses other transactions are taking (else
    // they all pick the first, wait for its taker, and try again); SQLite's one writer already
    // excludes them.
    const SQLITE: &str = "UPDATE ip_pool SET service_id = $2 WHERE address = \
         (SELECT address FROM ip_pool WHERE upstream = $1 AND service_id IS NULL LIMIT 1) AND service_id IS NULL \
         RETURNING address, prefix_len, gateway";
    const POSTGRES: &str = "UPDATE ip_pool SET service_id = $2 WHERE address = \
         (SELECT address FROM ip_pool WHERE upstream = $1 AND service_id IS NULL LIMIT 1 FOR UPDATE SKIP LOCKED) \
         AND service_id IS NULL RETURNING address, prefix_len, gateway";
    match tx {
        Tx::Sqlite(t) => sqlx::query_as(SQLITE).bind(upstream).bind(service_id).fetch_optional(&mut **t).await,
        Tx::Pg(t) => sqlx::query_as(POSTGRES).bind(upstream).bind(service_id).fetch_optional(&mut **t).await,
    }
}

/// Makes the caller's transaction the only one choosing a vmid at `upstream` until it ends, so
/// parallel creates do not all pick the same lowest free vmid and queue behind one another's
/// inserts. PostgreSQL: a transaction-scoped advisory lock; SQLite's write transaction is
/// already exclusive.
pub async fn lock_vmid_pool(tx: &mut Tx, upstream: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "SELECT pg_advisory_xact_lock(hashtext('vmid_reservations:' || $1))";
    if let Tx::Pg(t) = tx {
        sqlx::query(SQL).bind(upstream).execute(&mut **t).await?;
    }
    Ok(())
}

pub async fn free_ips(tx: &mut Tx, upstream: &str) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM ip_pool WHERE upstream = $1 AND service_id IS NULL";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(upstream).fetch_one(c).await)
}

/// Every plan in the region (by code) is served by `upstream` from `target`, unless it has a
/// target already.
pub async fn target_all_plans(tx: &mut Tx, region_code: &str, upstream: &str, target: &str) -> Result<(), sqlx::Error> {
    // SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT, or it reads ON as a join's.
    const SQL: &str = "INSERT INTO plan_targets (plan_id, region_id, upstream, target) \
         SELECT p.id, r.id, $2, $3 FROM plans p JOIN regions r ON r.code = $1 WHERE TRUE \
         ON CONFLICT (plan_id, region_id) DO NOTHING";
    on_tx!(tx, c => sqlx::query(SQL).bind(region_code).bind(upstream).bind(target).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn add_ip(
    tx: &mut Tx,
    address: &str,
    upstream: &str,
    prefix_len: i64,
    gateway: &str,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO ip_pool (address, upstream, prefix_len, gateway) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (address) DO NOTHING";
    on_tx!(tx, c => sqlx::query(SQL).bind(address).bind(upstream).bind(prefix_len).bind(gateway).execute(c).await?.rows_affected());
    Ok(())
}
