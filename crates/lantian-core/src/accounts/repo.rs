use sqlx::FromRow;

use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, FromRow)]
pub struct Customer {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub email_verified_at: Option<UnixMs>,
    pub age_bracket: String,
    pub lang: String,
    pub phone: Option<String>,
    pub qq: Option<String>,
    pub country: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub created_at: UnixMs,
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<Customer>, sqlx::Error> {
    const SQL: &str = "SELECT id, username, email, email_verified_at, age_bracket, lang, phone, qq, country, province, city, \
         created_at FROM customers WHERE id = $1";
    on_read!(db, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

/// By username (case-insensitive) or e-mail, with the password hash.
pub async fn by_login(db: &Db, key: &str) -> Result<Option<(Customer, String)>, sqlx::Error> {
    const SQL: &str = "SELECT id, username, email, email_verified_at, age_bracket, lang, phone, qq, country, province, city, \
         created_at, password_hash FROM customers WHERE username_key = $1 OR email = $1";
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        c: Customer,
        password_hash: String,
    }
    let row: Option<Row> = on_read!(db, c => sqlx::query_as(SQL).bind(key).fetch_optional(c).await)?;
    Ok(row.map(|r| (r.c, r.password_hash)))
}

pub struct NewRow<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub hash: &'a str,
    pub age: &'a str,
    pub lang: &'a str,
}

pub async fn insert(tx: &mut Tx, r: &NewRow<'_>, now: UnixMs) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO customers (username, username_key, email, password_hash, age_bracket, lang, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id";
    on_tx!(tx, c => sqlx::query_scalar(SQL)
        .bind(r.username).bind(r.username.to_lowercase()).bind(r.email).bind(r.hash).bind(r.age).bind(r.lang).bind(now)
        .fetch_optional(c).await)
}

pub async fn set_password(tx: &mut Tx, id: i64, hash: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE customers SET password_hash = $2 WHERE id = $1").bind(id).bind(hash).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn mark_verified(tx: &mut Tx, id: i64, now: UnixMs) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE customers SET email_verified_at = $2 WHERE id = $1 AND email_verified_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(now).execute(c).await?.rows_affected());
    Ok(())
}

pub async fn set_email(tx: &mut Tx, id: i64, email: &str, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE customers SET email = $2, email_verified_at = $3 WHERE id = $1 \
         AND NOT EXISTS (SELECT 1 FROM customers o WHERE o.email = $2 AND o.id <> $1)";
    let n = on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(email).bind(now).execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn set_lang(tx: &mut Tx, id: i64, lang: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, c => sqlx::query("UPDATE customers SET lang = $2 WHERE id = $1").bind(id).bind(lang).execute(c).await?.rows_affected());
    Ok(())
}

pub struct ProfileRow<'a> {
    pub phone: Option<&'a str>,
    pub qq: Option<&'a str>,
    pub country: Option<&'a str>,
    pub province: Option<&'a str>,
    pub city: Option<&'a str>,
    pub lang: &'a str,
}

pub async fn set_profile(tx: &mut Tx, id: i64, p: &ProfileRow<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "UPDATE customers SET phone = $2, qq = $3, country = $4, province = $5, city = $6, lang = $7 WHERE id = $1";
    on_tx!(tx, c => sqlx::query(SQL).bind(id).bind(p.phone).bind(p.qq).bind(p.country).bind(p.province).bind(p.city).bind(p.lang)
        .execute(c).await?.rows_affected());
    Ok(())
}

/// Remembers a device; true when it was not known before.
pub async fn see_device(tx: &mut Tx, id: i64, key: &str, now: UnixMs) -> Result<bool, sqlx::Error> {
    const INSERT: &str = "INSERT INTO known_devices (customer_id, device_key, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (customer_id, device_key) DO NOTHING RETURNING customer_id";
    const TOUCH: &str = "UPDATE known_devices SET last_seen = $3 WHERE customer_id = $1 AND device_key = $2";
    let new: Option<i64> =
        on_tx!(tx, c => sqlx::query_scalar(INSERT).bind(id).bind(key).bind(now).fetch_optional(c).await?);
    if new.is_none() {
        on_tx!(tx, c => sqlx::query(TOUCH).bind(id).bind(key).bind(now).execute(c).await?.rows_affected());
    }
    Ok(new.is_some())
}

pub async fn device_count(tx: &mut Tx, id: i64) -> Result<i64, sqlx::Error> {
    on_tx!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM known_devices WHERE customer_id = $1").bind(id).fetch_one(c).await)
}

/// Deletes unverified accounts created before `before`, with everything keyed to them, in
/// batches; returns how many accounts went.
pub async fn delete_unverified(db: &Db, before: UnixMs) -> Result<u64, sqlx::Error> {
    const PICK: &str =
        "SELECT id FROM customers WHERE email_verified_at IS NULL AND created_at < $1 ORDER BY id LIMIT 500";
    let mut total = 0;
    loop {
        let ids: Vec<i64> = on_read!(db, c => sqlx::query_scalar(PICK).bind(before).fetch_all(c).await)?;
        let mut tx = db.begin().await?;
        for id in &ids {
            delete_customer(&mut tx, *id).await?;
        }
        tx.commit().await?;
        total += ids.len() as u64;
        if ids.len() < 500 {
            return Ok(total);
        }
    }
}

/// Deletes a customer with everything keyed to them: rows with a foreign key go with the
/// customer (cascade); these name a subject without one. Billing keeps its pseudonymous records.
/// False when there was no such customer.
pub async fn delete_customer(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    const RELATED: [&str; 8] = [
        "DELETE FROM sessions WHERE subject_kind = 'customer' AND subject_id = $1",
        "DELETE FROM consents WHERE subject_kind = 'customer' AND subject_id = $1",
        "DELETE FROM disclosures WHERE subject_kind = 'customer' AND subject_id = $1",
        "DELETE FROM notices WHERE subject_kind = 'customer' AND subject_id = $1",
        "DELETE FROM notification_prefs WHERE subject_kind = 'customer' AND subject_id = $1",
        "DELETE FROM totp_factors WHERE subject_kind = 'customer' AND subject_id = $1",
        "DELETE FROM recovery_codes WHERE subject_kind = 'customer' AND subject_id = $1",
        "DELETE FROM api_tokens WHERE subject_kind = 'customer' AND subject_id = $1",
    ];
    for sql in RELATED {
        on_tx!(tx, c => sqlx::query(sql).bind(id).execute(c).await?.rows_affected());
    }
    let deleted =
        on_tx!(tx, c => sqlx::query("DELETE FROM customers WHERE id = $1").bind(id).execute(c).await?.rows_affected());
    Ok(deleted == 1)
}
