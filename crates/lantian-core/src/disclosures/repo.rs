use serde::Serialize;
use sqlx::FromRow;

use super::Disclosure;
use crate::authz::Subject;
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct DisclosureRow {
    pub id: i64,
    pub recipient: String,
    pub recipient_name: String,
    pub fields: String,
    pub purpose: String,
    pub object_kind: String,
    pub object_id: String,
    pub at: UnixMs,
}

pub async fn insert(tx: &mut Tx, s: Subject, d: &Disclosure<'_>, now: UnixMs) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO disclosures (subject_kind, subject_id, recipient, recipient_name, fields, purpose, object_kind, \
         object_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (subject_kind, subject_id, recipient, purpose, object_kind, object_id) DO NOTHING";
    let n = on_tx!(tx, c => sqlx::query(SQL)
        .bind(s.kind.as_str()).bind(s.id).bind(d.recipient.as_str()).bind(d.recipient_name).bind(d.fields.join(","))
        .bind(d.purpose).bind(d.object.0).bind(&d.object.1).bind(now)
        .execute(c).await?.rows_affected());
    Ok(n == 1)
}

pub async fn for_subject(db: &Db, s: Subject) -> Result<Vec<DisclosureRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, recipient, recipient_name, fields, purpose, object_kind, object_id, at FROM disclosures \
         WHERE subject_kind = $1 AND subject_id = $2 ORDER BY id DESC";
    on_read!(db, c => sqlx::query_as(SQL).bind(s.kind.as_str()).bind(s.id).fetch_all(c).await)
}
