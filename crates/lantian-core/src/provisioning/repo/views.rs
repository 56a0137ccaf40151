//! The SQL of what customers and staff read of services.

use crate::db::Db;
use crate::provisioning::console::StaffService;
use crate::provisioning::portal::Service;
use crate::{on_read, on_tx};

macro_rules! portal_select {
    () => {
        "SELECT s.id, s.order_id, s.plan_id, p.name_zh AS plan_zh, p.name_en AS plan_en, s.region_id, \
     r.name_zh AS region_zh, r.name_en AS region_en, s.os_image, s.months, s.state, s.desired, s.desired_reason, s.ip, s.power_request, \
     s.op IS NOT NULL AS busy, (s.password_enc IS NOT NULL AND s.state = 'active') AS has_password, \
     (SELECT l.invoice_id FROM orders o JOIN invoice_lines l ON l.order_id = o.id \
      WHERE o.service_id = s.id AND o.state = 'pending') AS renewal_invoice_id, \
     s.created_at, s.activated_at, s.expires_at, s.suspended_at, s.terminated_at \
     FROM services s JOIN plans p ON p.id = s.plan_id JOIN regions r ON r.id = s.region_id"
    };
}

macro_rules! staff_select {
    () => {
        "SELECT id, account_id, customer_id, plan_id, region_id, upstream, target, state, desired, \
     desired_reason, remote_id, node, ip, checkpoint, op, power_request, last_error, created_at, expires_at FROM services"
    };
}

pub async fn services_of(db: &Db, customer_id: i64, limit: i64) -> Result<Vec<Service>, sqlx::Error> {
    const SQL: &str = concat!(portal_select!(), " WHERE s.customer_id = $1 ORDER BY s.id DESC LIMIT $2");
    on_read!(db, c => sqlx::query_as(SQL).bind(customer_id).bind(limit).fetch_all(c).await)
}

pub async fn service_of(db: &Db, customer_id: i64, id: i64) -> Result<Option<Service>, sqlx::Error> {
    const SQL: &str = concat!(portal_select!(), " WHERE s.customer_id = $1 AND s.id = $2");
    on_read!(db, c => sqlx::query_as(SQL).bind(customer_id).bind(id).fetch_optional(c).await)
}

/// The sealed first-login password of the customer's active service, if still held.
pub async fn sealed_password(db: &Db, customer_id: i64, id: i64) -> Result<Option<String>, sqlx::Error> {
    const SQL: &str = "SELECT password_enc FROM services WHERE id = $1 AND customer_id = $2 AND state = 'active'";
    let sealed: Option<Option<String>> =
        on_read!(db, c => sqlx::query_scalar(SQL).bind(id).bind(customer_id).fetch_optional(c).await)?;
    Ok(sealed.flatten())
}

pub async fn forget_password(db: &Db, customer_id: i64, id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE services SET password_enc = NULL WHERE id = $1 AND customer_id = $2 AND state = 'active'";
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(SQL).bind(id).bind(customer_id).execute(c).await?.rows_affected());
    tx.commit().await
}

/// Services not where they should be, waiting for staff, or whose last action failed.
pub async fn queue(db: &Db, before_id: i64, limit: i64) -> Result<Vec<StaffService>, sqlx::Error> {
    const SQL: &str = concat!(
        staff_select!(),
        " WHERE (state <> desired OR state = 'needs_attention' OR last_error IS NOT NULL) AND id < $1 \
         ORDER BY id DESC LIMIT $2"
    );
    on_read!(db, c => sqlx::query_as(SQL).bind(before_id).bind(limit).fetch_all(c).await)
}

pub async fn staff_service(db: &Db, id: i64) -> Result<Option<StaffService>, sqlx::Error> {
    const SQL: &str = concat!(staff_select!(), " WHERE id = $1");
    on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}
