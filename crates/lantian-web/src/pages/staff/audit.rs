//! The audit trail in the console: filter by actor, action, target and date; newest first.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use lantian_core::audit::{self, AuditFilter, AuditRow};
use lantian_core::i18n::Tr;
use lantian_core::{Error, UnixMs};
use serde::Deserialize;

use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, format_time, render};

const PAGE: i64 = 50;

/// The filter form, as typed. Empty fields are "any".
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    /// `YYYY-MM-DD`, business time zone, inclusive.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

pub struct Shown {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub fields: String,
    pub reason: String,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage {
    t: Tr,
    l: Layout,
    q: AuditQuery,
    rows: Vec<Shown>,
    older: Option<String>,
}

pub(super) fn day_start(tz: &str, day: &str, field: &'static str) -> Result<Option<UnixMs>, Error> {
    if day.trim().is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = day.trim().parse().map_err(|_| Error::validation(field, "date"))?;
    let tz = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    let z = date.to_zoned(tz).map_err(|_| Error::validation(field, "date"))?;
    Ok(Some(UnixMs(z.timestamp().as_millisecond())))
}

/// `staff:7` or `system` → (kind, id).
fn actor(s: &str) -> (Option<String>, Option<i64>) {
    let s = s.trim();
    match s.split_once(':') {
        Some((k, id)) => (Some(k.to_string()), id.parse().ok()),
        None if s.is_empty() => (None, None),
        None => (Some(s.to_string()), None),
    }
}

fn filter(tz: &str, q: &AuditQuery) -> Result<AuditFilter, Error> {
    let (actor_kind, actor_id) = actor(&q.actor);
    let (target_kind, target_id) = match q.target.trim().split_once(':') {
        Some((k, id)) => (Some(k.to_string()), Some(id.to_string())),
        None if q.target.trim().is_empty() => (None, None),
        None => (Some(q.target.trim().to_string()), None),
    };
    let to = day_start(tz, &q.to, "to")?.map(|t| t.plus(std::time::Duration::from_secs(86_400)));
    Ok(AuditFilter {
        actor_kind,
        actor_id,
        action: Some(q.action.trim().to_string()).filter(|a| !a.is_empty()),
        target_kind,
        target_id,
        from: day_start(tz, &q.from, "from")?,
        to,
        before_seq: q.before,
        limit: PAGE,
    })
}

fn shown(tz: &str, r: AuditRow) -> Shown {
    Shown {
        seq: r.seq,
        at: format_time(tz, r.at),
        actor: match r.actor_id {
            Some(id) => format!("{}:{id}", r.actor_kind),
            None => r.actor_kind,
        },
        action: r.action,
        target: match (r.target_kind, r.target_id) {
            (Some(k), Some(id)) => format!("{k}:{id}"),
            (Some(k), None) => k,
            _ => String::new(),
        },
        fields: r.fields,
        reason: r.reason.unwrap_or_default(),
        request_id: r.request_id.unwrap_or_default(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let tz = state.core.config.business.time_zone.clone();
    let f = filter(&tz, &q)?;
    let rows = audit::list(&state.core.db, &s.principal, &f).await?;
    let filter =
        [("actor", q.actor.as_str()), ("action", &q.action), ("target", &q.target), ("from", &q.from), ("to", &q.to)];
    let older = crate::pages::older_link(rows.len() as i64 == PAGE, rows.last().map(|r| r.seq), &filter);
    let rows = rows.into_iter().map(|r| shown(&tz, r)).collect();
    let l = super::layout(&state, &ctx, &s, "/staff/audit").await?;
    Ok(render(&AuditPage { t: Tr::new(ctx.lang), l, q, rows, older }))
}
