use sqlx::FromRow;

use super::{Args, Channels, Class, Event};
use crate::authz::Subject;
use crate::db::{Db, Tx};
use crate::{UnixMs, on_read, on_tx};

#[derive(Debug, Clone, FromRow)]
pub struct NoticeRow {
    pub id: i64,
    pub event: String,
    pub class: String,
    pub args: String,
    pub created_at: UnixMs,
    pub read_at: Option<UnixMs>,
}

pub async fn prefs(tx: &mut Tx, s: Subject, class: Class) -> Result<Option<Channels>, sqlx::Error> {
    const SQL: &str =
        "SELECT email, sms, insite FROM notification_prefs WHERE subject_kind = $1 AND subject_id = $2 AND class = $3";
    let row: Option<(bool, bool, bool)> = on_tx!(tx, c => sqlx::query_as(SQL).bind(s.kind.as_str()).bind(s.id).bind(class.as_str()).fetch_optional(c).await?);
    Ok(row.map(|(email, sms, insite)| Channels { email, sms, insite }))
}

pub async fn set_prefs(tx: &mut Tx, s: Subject, class: Class, ch: Channels) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO notification_prefs (subject_kind, subject_id, class, email, sms, insite) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (subject_kind, subject_id, class) DO UPDATE SET email = excluded.email, sms = excluded.sms, insite = excluded.insite";
    on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(class.as_str()).bind(ch.email).bind(ch.sms).bind(ch.insite)
        .execute(c).await?.rows_affected());
    Ok(())
}

/// Writes the in-site notices of one event, a few hundred per statement.
pub async fn insert_notices(tx: &mut Tx, e: Event, each: &[(Subject, Args)], now: UnixMs) -> Result<(), sqlx::Error> {
    for chunk in each.chunks(crate::db::ROWS_PER_INSERT) {
        let rows: Vec<(&Subject, String)> =
            chunk.iter().map(|(s, args)| (s, serde_json::to_string(args).unwrap_or_else(|_| "{}".into()))).collect();
        on_tx!(&mut *tx, c => {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO notices (subject_kind, subject_id, event, class, args, created_at) ");
            q.push_values(&rows, |mut row, (s, args)| {
                row.push_bind(s.kind.as_str()).push_bind(s.id).push_bind(e.key()).push_bind(e.class().as_str());
                row.push_bind(args).push_bind(now);
            });
            q.build().execute(c).await?.rows_affected()
        });
    }
    Ok(())
}

pub async fn notices(db: &Db, s: Subject, limit: i64) -> Result<Vec<NoticeRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, event, class, args, created_at, read_at FROM notices WHERE subject_kind = $1 AND subject_id = $2 \
         ORDER BY id DESC LIMIT $3";
    on_read!(db, c => sqlx::query_as(SQL).bind(s.kind.as_str()).bind(s.id).bind(limit).fetch_all(c).await)
}

pub async fn unread(db: &Db, s: Subject) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM notices WHERE subject_kind = $1 AND subject_id = $2 AND read_at IS NULL";
    on_read!(db, c => sqlx::query_scalar(SQL).bind(s.kind.as_str()).bind(s.id).fetch_one(c).await)
}

pub async fn mark_all_read(tx: &mut Tx, s: Subject, now: UnixMs) -> Result<u64, sqlx::Error> {
    const SQL: &str = "UPDATE notices SET read_at = $3 WHERE subject_kind = $1 AND subject_id = $2 AND read_at IS NULL";
    on_tx!(tx, c => sqlx::query(SQL).bind(s.kind.as_str()).bind(s.id).bind(now).execute(c).await.map(|r| r.rows_affected()))
}
