//! The SQL of real-name verification: the record per customer, places per ID number, retries,
//! guardians' consents.

use serde::Serialize;
use sqlx::FromRow;

use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

/// A record as pages show it: masked, never the sealed values.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Record {
    pub customer_id: i64,
    /// `pending`, `verified`, `rejected` or `revoked`.
    pub state: String,
    pub document_kind: String,
    pub name_masked: String,
    pub number_masked: String,
    pub adult_at: Option<UnixMs>,
    pub provider: Option<String>,
    pub provider_request_id: Option<String>,
    pub outcome: Option<String>,
    pub tries: i64,
    pub next_try_at: Option<UnixMs>,
    pub submitted_at: UnixMs,
    pub verified_at: Option<UnixMs>,
    pub revoked_at: Option<UnixMs>,
}

const RECORD: &str = "SELECT customer_id, state, document_kind, name_masked, number_masked, adult_at, provider, \
     provider_request_id, outcome, tries, next_try_at, submitted_at, verified_at, revoked_at FROM real_name_records";

pub async fn record(db: &Db, customer_id: i64) -> Result<Option<Record>, sqlx::Error> {
    let sql = format!("{RECORD} WHERE customer_id = $1");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(customer_id).fetch_optional(c).await)
}

/// The console's list, newest accounts first (keyset-paged by customer id below `before_id`),
/// optionally one state.
pub async fn records(
    db: &Db,
    state: Option<&str>,
    before_id: i64,
    limit: i64,
) -> Result<Vec<(Record, String)>, sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        record: Record,
        username: String,
    }
    const SQL: &str = "SELECT r.customer_id, r.state, r.document_kind, r.name_masked, r.number_masked, r.adult_at, \
         r.provider, r.provider_request_id, r.outcome, r.tries, r.next_try_at, r.submitted_at, r.verified_at, \
         r.revoked_at, c.username FROM real_name_records r JOIN customers c ON c.id = r.customer_id \
         WHERE ($1 IS NULL OR r.state = $1) AND r.customer_id < $2 ORDER BY r.customer_id DESC LIMIT $3";
    let rows: Vec<Row> =
        on_read!(db, c => sqlx::query_as(SQL).bind(state).bind(before_id).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|r| (r.record, r.username)).collect())
}

/// The sealed name and number, while the record holds them.
pub async fn sealed(db: &Db, customer_id: i64) -> Result<Option<(String, String)>, sqlx::Error> {
    const SQL: &str = "SELECT name_enc, number_enc FROM real_name_records \
         WHERE customer_id = $1 AND name_enc IS NOT NULL AND number_enc IS NOT NULL";
    on_read!(db, c => sqlx::query_as(SQL).bind(customer_id).fetch_optional(c).await)
}

/// The places of `kyc.max_accounts_per_id` other customers' records hold for this number.
pub async fn taken_slots(tx: &mut Tx, number_index: &str, customer_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "SELECT number_slot FROM real_name_records \
         WHERE number_index = $1 AND number_slot IS NOT NULL AND customer_id <> $2";
    on_tx!(tx, c => sqlx::query_scalar(SQL).bind(number_index).bind(customer_id).fetch_all(c).await)
}

/// A submission about to go to the provider.
pub struct Pending<'a> {
    pub customer_id: i64,
    pub document_kind: &'a str,
    pub name_enc: &'a str,
    pub number_enc: &'a str,
    pub name_masked: &'a str,
    pub number_masked: &'a str,
    pub number_index: &'a str,
    pub number_slot: i64,
    pub adult_at: Option<UnixMs>,
    pub provider: &'a str,
}

/// Writes the submission as pending. A customer's own submission replaces only a rejected or
/// revoked record (`replace_verified` false); staff correcting a record replace any state.
/// `retry_at`: when the retry task may take it over should the provider call in flight never
/// report (the process stopped, the request was cut off). False when the record was in a state
/// it may not replace.
pub async fn put_pending(
    tx: &mut Tx,
    p: &Pending<'_>,
    replace_verified: bool,
    retry_at: UnixMs,
    now: UnixMs,
) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO real_name_records (customer_id, state, document_kind, name_enc, number_enc, \
         name_masked, number_masked, number_index, number_slot, adult_at, provider, tries, next_try_at, submitted_at) \
         VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $13, $11) \
         ON CONFLICT (customer_id) DO UPDATE SET state = 'pending', document_kind = $2, name_enc = $3, \
         number_enc = $4, name_masked = $5, number_masked = $6, number_index = $7, number_slot = $8, adult_at = $9, \
         provider = $10, provider_request_id = NULL, outcome = NULL, tries = 0, next_try_at = $13, \
         submitted_at = $11, verified_at = NULL, revoked_at = NULL \
         WHERE real_name_records.state IN ('rejected', 'revoked') OR ($12 AND real_name_records.state = 'verified')";
    let n = on_tx!(tx, c => sqlx::query(SQL)
        .bind(p.customer_id).bind(p.document_kind).bind(p.name_enc).bind(p.number_enc).bind(p.name_masked)
        .bind(p.number_masked).bind(p.number_index).bind(p.number_slot).bind(p.adult_at).bind(p.provider).bind(now)
        .bind(replace_verified).bind(retry_at)
        .execute(c).await?.rows_affected());
    if n == 1 {
        unverify(tx, p.customer_id).await?;
    }
    Ok(n == 1)
}

/// While a record is not verified, neither is the customer.
async fn unverify(tx: &mut Tx, customer_id: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE customers SET real_name_verified_at = NULL WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(customer_id).execute(c).await?.rows_affected());
    Ok(())
}

/// pending → verified, and the customer with it; false when it was not pending.
pub async fn mark_verified(tx: &mut Tx, customer_id: i64, request_id: &str, now: UnixMs) -> Result<bool, sqlx::Error> {
    const RECORD: &str = "UPDATE real_name_records SET state = 'verified', outcome = 'match', \
         provider_request_id = $2, next_try_at = NULL, verified_at = $3 WHERE customer_id = $1 AND state = 'pending'";
    // A customer the number shows to be 16 or 17 is held as a minor, whatever they declared.
    const CUSTOMER: &str = "UPDATE customers SET real_name_verified_at = $2, age_bracket = CASE WHEN EXISTS \
         (SELECT 1 FROM real_name_records r WHERE r.customer_id = $1 AND r.adult_at > $2) THEN 'minor' \
         ELSE age_bracket END WHERE id = $1";
    let n = on_tx!(tx, c => sqlx::query(RECORD).bind(customer_id).bind(request_id).bind(now).execute(c).await?.rows_affected());
    if n == 1 {
        on_tx!(tx, c => sqlx::query(CUSTOMER).bind(customer_id).bind(now).execute(c).await?.rows_affected());
    }
    Ok(n == 1)
}

/// pending → rejected (`outcome`: mismatch or not_found): the sealed values and the number's
/// place go at once, since nothing needs them.
pub async fn mark_rejected(
    tx: &mut Tx,
    customer_id: i64,
    outcome: &str,
    request_id: &str,
) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE real_name_records SET state = 'rejected', outcome = $2, provider_request_id = $3, \
         name_enc = NULL, number_enc = NULL, number_index = NULL, number_slot = NULL, next_try_at = NULL \
         WHERE customer_id = $1 AND state = 'pending'";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(customer_id).bind(outcome).bind(request_id).execute(c).await?.rows_affected());
    if n == 1 {
        unverify(tx, customer_id).await?;
    }
    Ok(n == 1)
}

/// A pending record whose provider call failed: tried again at `next_try_at`.
pub async fn mark_retry(tx: &mut Tx, customer_id: i64, code: &str, next_try_at: UnixMs) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE real_name_records SET outcome = $2, tries = tries + 1, next_try_at = $3 \
         WHERE customer_id = $1 AND state = 'pending'";
    on_tx!(tx, c => sqlx::query(SQL).bind(customer_id).bind(code).bind(next_try_at).execute(c).await?.rows_affected());
    Ok(())
}

/// Pending records due for another try.
pub async fn due_retries(db: &Db, now: UnixMs, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "SELECT customer_id FROM real_name_records WHERE state = 'pending' AND next_try_at <= $1 \
         ORDER BY next_try_at LIMIT $2";
    on_read!(db, c => sqlx::query_scalar(SQL).bind(now).bind(limit).fetch_all(c).await)
}

/// A claimed retry: what to send again, and how often it was tried.
#[derive(FromRow)]
pub struct Claimed {
    pub name_enc: String,
    pub number_enc: String,
    pub tries: i64,
}

/// Claims a due retry until `lease_until`, so two workers never call the provider for it; None
/// when another worker has it, or it is no longer pending.
pub async fn claim_retry(
    tx: &mut Tx,
    customer_id: i64,
    now: UnixMs,
    lease_until: UnixMs,
) -> Result<Option<Claimed>, sqlx::Error> {
    const SQL: &str = "UPDATE real_name_records SET next_try_at = $3 \
         WHERE customer_id = $1 AND state = 'pending' AND next_try_at <= $2 \
         AND name_enc IS NOT NULL AND number_enc IS NOT NULL RETURNING name_enc, number_enc, tries";
    on_tx!(tx, c => sqlx::query_as(SQL).bind(customer_id).bind(now).bind(lease_until).fetch_optional(c).await)
}

/// verified → revoked by staff: the customer is unverified, the sealed values and the place go.
pub async fn revoke(tx: &mut Tx, customer_id: i64, now: UnixMs) -> Result<bool, sqlx::Error> {
    const RECORD: &str = "UPDATE real_name_records SET state = 'revoked', revoked_at = $2, name_enc = NULL, \
         number_enc = NULL, number_index = NULL, number_slot = NULL WHERE customer_id = $1 AND state = 'verified'";
    let n = on_tx!(tx, c => sqlx::query(RECORD).bind(customer_id).bind(now).execute(c).await?.rows_affected());
    if n == 1 {
        unverify(tx, customer_id).await?;
    }
    Ok(n == 1)
}

/// A guardian's consent as pages show it: not the document, not the name.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct GuardianConsent {
    pub id: i64,
    pub customer_id: i64,
    pub relationship: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    pub review_reason: Option<String>,
    pub submitted_at: UnixMs,
    pub reviewed_at: Option<UnixMs>,
    pub delete_at: UnixMs,
}

const CONSENT: &str = "SELECT id, customer_id, relationship, content_type, size_bytes, state, review_reason, \
     submitted_at, reviewed_at, delete_at FROM guardian_consents";

pub async fn consents_of(db: &Db, customer_id: i64) -> Result<Vec<GuardianConsent>, sqlx::Error> {
    let sql = format!("{CONSENT} WHERE customer_id = $1 ORDER BY id DESC LIMIT 20");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(customer_id).fetch_all(c).await)
}

pub async fn consent(db: &Db, id: i64) -> Result<Option<GuardianConsent>, sqlx::Error> {
    let sql = format!("{CONSENT} WHERE id = $1");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await)
}

/// The consents waiting for staff, oldest first.
pub async fn pending_consents(db: &Db, limit: i64) -> Result<Vec<GuardianConsent>, sqlx::Error> {
    let sql = format!("{CONSENT} WHERE state = 'pending' ORDER BY submitted_at LIMIT $1");
    on_read!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(c).await)
}

/// The consent's customer (the row of its AAD), and its sealed guardian's name and document.
pub async fn consent_sealed(db: &Db, id: i64) -> Result<Option<(i64, String, String)>, sqlx::Error> {
    const SQL: &str = "SELECT customer_id, guardian_name_enc, document_enc FROM guardian_consents WHERE id = $1";
    on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

pub struct NewConsent<'a> {
    pub customer_id: i64,
    pub guardian_name_enc: &'a str,
    pub relationship: &'a str,
    pub document_enc: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub delete_at: UnixMs,
}

/// Files a consent unless one is already waiting or approved; its id, or None.
pub async fn insert_consent(tx: &mut Tx, n: &NewConsent<'_>, now: UnixMs) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO guardian_consents (customer_id, guardian_name_enc, relationship, document_enc, \
         content_type, size_bytes, state, submitted_at, delete_at) SELECT $1, $2, $3, $4, $5, $6, 'pending', $7, $8 \
         WHERE NOT EXISTS (SELECT 1 FROM guardian_consents WHERE customer_id = $1 AND state IN ('pending', 'approved')) \
         RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(n.customer_id).bind(n.guardian_name_enc).bind(n.relationship).bind(n.document_enc)
        .bind(n.content_type).bind(n.size_bytes).bind(now).bind(n.delete_at)
        .fetch_optional(c).await)
}

/// pending → approved or rejected; the customer, or None when it was not pending. An approval
/// lets the customer buy.
pub async fn review_consent(
    tx: &mut Tx,
    id: i64,
    approve: bool,
    reason: &str,
    staff_id: i64,
    now: UnixMs,
) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE guardian_consents SET state = CASE WHEN $2 THEN 'approved' ELSE 'rejected' END, \
         review_reason = $3, reviewed_by = $4, reviewed_at = $5 WHERE id = $1 AND state = 'pending' RETURNING customer_id";
    const CUSTOMER: &str = "UPDATE customers SET guardian_approved_at = $2 WHERE id = $1";
    let customer: Option<i64> = on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(id).bind(approve).bind(reason).bind(staff_id).bind(now)
        .fetch_optional(c).await)?;
    if let (Some(customer), true) = (customer, approve) {
        on_tx!(tx, c => sqlx::query(CUSTOMER).bind(customer).bind(now).execute(c).await?.rows_affected());
    }
    Ok(customer)
}

/// Customers who turned 18: their guardians' consents are deleted and they are adults now.
pub async fn come_of_age(tx: &mut Tx, now: UnixMs) -> Result<u64, sqlx::Error> {
    const CONSENTS: &str = "DELETE FROM guardian_consents WHERE delete_at <= $1";
    const CUSTOMERS: &str = "UPDATE customers SET age_bracket = 'adult' WHERE age_bracket = 'minor' AND id IN \
         (SELECT customer_id FROM real_name_records WHERE state = 'verified' AND adult_at <= $1)";
    const RECORDS: &str = "UPDATE real_name_records SET adult_at = NULL WHERE adult_at <= $1";
    let deleted = on_tx!(tx, c => sqlx::query(CONSENTS).bind(now).execute(c).await?.rows_affected());
    on_tx!(tx, c => sqlx::query(CUSTOMERS).bind(now).execute(c).await?.rows_affected());
    on_tx!(tx, c => sqlx::query(RECORDS).bind(now).execute(c).await?.rows_affected());
    Ok(deleted)
}
