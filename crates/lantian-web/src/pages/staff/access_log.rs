//! The access log in the console: every request with its IP address, device, page and who made
//! it, newest first; filter by user (`customer:42`, `staff:1`), IP address and dates (business
//! time zone). Each search is itself written to the audit trail.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use lantian_core::accesslog::{self, LogRow, SearchFilter};
use lantian_core::authz::{Subject, SubjectKind};
use lantian_core::i18n::Tr;
use lantian_core::{Error, UnixMs};
use serde::Deserialize;

use super::audit::day_start;
use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, format_time, render};

const PAGE: i64 = 100;

/// The filter form, as typed. Empty fields are "any".
#[derive(Debug, Default, Deserialize)]
pub struct AccessLogQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    ip: String,
    /// `YYYY-MM-DD`, business time zone, inclusive.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

pub struct Shown {
    pub at: String,
    pub user: String,
    pub ip: String,
    /// Message key of the event.
    pub event: String,
    pub method: String,
    pub path: String,
    pub status: i64,
    pub latency_ms: String,
    pub browser: String,
    pub os: String,
    pub request_id: String,
}

#[derive(Template)]
#[template(path = "staff/access_log.html")]
struct AccessLogPage {
    t: Tr,
    l: Layout,
    q: AccessLogQuery,
    rows: Vec<Shown>,
    older: Option<String>,
}

/// `customer:42` or `staff:1`.
fn subject(s: &str) -> Result<Option<Subject>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || Error::validation("user", "access-log-user");
    let (kind, id) = s.split_once(':').ok_or_else(bad)?;
    let kind = SubjectKind::parse(kind.trim()).ok_or_else(bad)?;
    let id = id.trim().parse().map_err(|_| bad())?;
    Ok(Some(Subject { kind, id }))
}

/// An IPv4 or IPv6 address, written as the log writes it.
fn ip(s: &str) -> Result<Option<String>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let addr: std::net::IpAddr = s.parse().map_err(|_| Error::validation("ip", "ip"))?;
    Ok(Some(addr.to_string()))
}

fn filter(tz: &str, q: &AccessLogQuery) -> Result<SearchFilter, Error> {
    let to = day_start(tz, &q.to, "to")?.map(|t: UnixMs| t.plus(std::time::Duration::from_secs(86_400)));
    Ok(SearchFilter {
        subject: subject(&q.user)?,
        ip: ip(&q.ip)?,
        from: day_start(tz, &q.from, "from")?,
        to,
        before_id: q.before,
        limit: PAGE,
    })
}

fn shown(tz: &str, r: LogRow) -> Shown {
    Shown {
        at: format_time(tz, r.at),
        user: match (r.subject_kind, r.subject_id) {
            (Some(k), Some(id)) => format!("{k}:{id}"),
            _ => String::new(),
        },
        ip: r.ip,
        event: format!("access-log-event-{}", r.event),
        method: r.method,
        path: r.path,
        status: r.status,
        latency_ms: format!("{:.1}", r.latency_us as f64 / 1000.0),
        browser: r.browser.unwrap_or_default(),
        os: r.os.unwrap_or_default(),
        request_id: r.request_id.unwrap_or_default(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(q): Query<AccessLogQuery>,
) -> Result<Response, WebError> {
    let tz = state.core.config.business.time_zone.clone();
    let f = filter(&tz, &q)?;
    let rows = accesslog::search(&state.core.db, &s.principal, &f, &s.meta, state.core.now()).await?;
    let filter = [("user", q.user.as_str()), ("ip", &q.ip), ("from", &q.from), ("to", &q.to)];
    let older = crate::pages::older_link(rows.len() as i64 == PAGE, rows.last().map(|r| r.id), &filter);
    let rows = rows.into_iter().map(|r| shown(&tz, r)).collect();
    let l = super::layout(&state, &ctx, &s, "/staff/access-log").await?;
    Ok(render(&AccessLogPage { t: Tr::new(ctx.lang), l, q, rows, older }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_ip_filters_are_parsed() {
        assert_eq!(subject(" customer:42 ").unwrap(), Some(Subject::customer(42)));
        assert_eq!(subject("staff:1").unwrap(), Some(Subject::staff(1)));
        assert_eq!(subject("").unwrap(), None);
        for bad in ["system", "staff:x", "robot:1", "42"] {
            assert!(matches!(subject(bad), Err(Error::Validation { field: "user", .. })), "{bad}");
        }
        assert_eq!(ip(" 203.0.113.7 ").unwrap().as_deref(), Some("203.0.113.7"));
        assert_eq!(ip("2001:DB8::1").unwrap().as_deref(), Some("2001:db8::1"));
        assert!(ip("203.0.113").is_err());
    }
}
