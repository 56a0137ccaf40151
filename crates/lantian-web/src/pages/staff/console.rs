//! The console's home: who you are, what needs attention, your notices.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use lantian_core::i18n::Tr;
use lantian_core::notify::{self, NoticeRow};
use lantian_core::{jobs, sessions};

use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, render};

/// A notice as shown: drawn in the reader's language from its event and arguments.
pub struct ShownNotice {
    pub title: String,
    pub body: String,
    pub at: String,
    pub unread: bool,
}

pub fn show_notice(t: &Tr, tz: &str, n: &NoticeRow) -> ShownNotice {
    let args = serde_json::from_str(&n.args).unwrap_or_default();
    ShownNotice {
        title: t.t_args(&format!("notice-{}-title", n.event), &args),
        body: t.t_args(&format!("notice-{}-body", n.event), &args),
        at: crate::pages::format_time(tz, n.created_at),
        unread: n.read_at.is_none(),
    }
}

#[derive(Template)]
#[template(path = "staff/overview.html")]
struct Overview {
    t: Tr,
    l: Layout,
    flash: Option<String>,
    roles: String,
    dead_jobs: usize,
    notices: Vec<ShownNotice>,
}

pub async fn overview(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let flash = sessions::take_flash(&state.core, &s.session).await?.map(|k| t.t(&k));
    let l = super::layout(&state, &ctx, &s, "/staff").await?;
    let dead_jobs = if l.staff.as_ref().is_some_and(|n| n.can_jobs) {
        jobs::list(&state.core.db, jobs::JobState::Dead, 100).await?.len()
    } else {
        0
    };
    let (rows, _) = notify::notices(&state.core, s.subject(), 5).await?;
    let roles = s.member.roles.iter().map(|r| t.t(&format!("role-{}", r.as_str()))).collect::<Vec<_>>().join(", ");
    let tz = &state.core.config.business.time_zone;
    let notices = rows.iter().map(|n| show_notice(&t, tz, n)).collect();
    Ok(render(&Overview { t, l, flash, roles, dead_jobs, notices }))
}

#[derive(Template)]
#[template(path = "staff/notices.html")]
struct NoticesPage {
    t: Tr,
    l: Layout,
    notices: Vec<ShownNotice>,
}

/// All notices; viewing them marks them read.
pub async fn notices(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let (rows, _) = notify::notices(&state.core, s.subject(), 100).await?;
    notify::mark_read(&state.core, s.subject(), state.core.now()).await?;
    let l = super::layout(&state, &ctx, &s, "/staff/notices").await?;
    let tz = &state.core.config.business.time_zone;
    let notices = rows.iter().map(|n| show_notice(&t, tz, n)).collect();
    Ok(render(&NoticesPage { t, l, notices }))
}
