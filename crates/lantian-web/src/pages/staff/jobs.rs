//! Dead jobs (out of attempts) with their last error, and a retry button.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::authz::Permission;
use lantian_core::i18n::Tr;
use lantian_core::jobs::{self, JobState, JobSummary};

use crate::AppState;
use crate::auth::CsrfForm;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, format_time, render};

#[derive(Template)]
#[template(path = "staff/jobs.html")]
struct JobsPage {
    t: Tr,
    l: Layout,
    jobs: Vec<(JobSummary, String)>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    s.principal.require(Permission::JobsManage)?;
    let tz = &state.core.config.business.time_zone;
    let dead = jobs::list(&state.core.db, JobState::Dead, 200).await?;
    let jobs = dead.into_iter().map(|j| {
        let at = format_time(tz, j.updated_at);
        (j, at)
    });
    let l = super::layout(&state, &ctx, &s, "/staff/jobs").await?;
    Ok(render(&JobsPage { t: Tr::new(ctx.lang), l, jobs: jobs.collect() }))
}

pub async fn retry(
    State(state): State<AppState>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    jobs::retry_dead(&state.core, &s.principal, id, s.meta.request_id.as_deref(), state.core.now()).await?;
    Ok(Redirect::to("/staff/jobs").into_response())
}
