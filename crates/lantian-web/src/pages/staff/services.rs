//! The console's service pages (`ServicesManage`): the provisioning queue (services not where
//! they should be, waiting for staff, or whose last action failed) and one service in full,
//! with a retry and the orders to suspend, resume or terminate it, each with a reason that the
//! audit trail keeps. Terminating deletes the server and its data, so it takes a ticked box.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use lantian_core::authz::Permission;
use lantian_core::i18n::Tr;
use lantian_core::provisioning::console::{self, StaffService};
use lantian_core::provisioning::reconcile::{self, UpstreamReport};
use lantian_core::{Error, UnixMs, billing};
use serde::Deserialize;

use super::billing::refusal;
use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, format_time, older_link, refused, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/services", get(queue))
        .route("/staff/services/reconcile", get(reconcile_report))
        .route("/staff/services/{id}", get(service))
        .route("/staff/services/{id}/retry", post(retry))
        .route("/staff/services/{id}/order", post(order))
}

/// The reasons the core gives for what a service should be; another is shown as stored.
const REASONS: [&str; 4] = ["overdue", "paid", "staff", "closure"];

fn reason_label(t: &Tr, reason: Option<&str>) -> String {
    match reason {
        Some(r) if REASONS.contains(&r) => t.t(&format!("staff-services-reason-{r}")),
        Some(r) => r.to_string(),
        None => String::new(),
    }
}

/// A service as the console shows it: states and reason in words, times in the business zone.
pub struct ServiceRow {
    pub s: StaffService,
    pub state_label: String,
    pub desired_label: String,
    pub reason: String,
    pub created: String,
    pub expires: String,
}

impl ServiceRow {
    fn new(s: StaffService, t: &Tr, tz: &str) -> ServiceRow {
        ServiceRow {
            state_label: t.t(&format!("staff-services-state-{}", s.state)),
            desired_label: t.t(&format!("staff-services-state-{}", s.desired)),
            reason: reason_label(t, s.desired_reason.as_deref()),
            created: format_time(tz, UnixMs(s.created_at)),
            expires: s.expires_at.map(|at| format_time(tz, UnixMs(at))).unwrap_or_default(),
            s,
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    before: i64,
    /// "Open service #": a service by its number, wherever it is.
    id: String,
}

#[derive(Template)]
#[template(path = "staff/services.html")]
struct QueuePage {
    t: Tr,
    l: Layout,
    rows: Vec<ServiceRow>,
    older: Option<String>,
}

pub async fn queue(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(q): Query<QueueQuery>,
) -> Result<Response, WebError> {
    s.principal.require(Permission::ServicesManage)?;
    if let Ok(id) = q.id.trim().parse::<i64>() {
        return Ok(Redirect::to(&format!("/staff/services/{id}")).into_response());
    }
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    let rows = console::queue(&state.core, &s.principal, q.before).await?;
    let older = older_link(rows.len() as i64 == billing::CONSOLE_PAGE, rows.last().map(|r| r.id), &[]);
    let page = QueuePage {
        rows: rows.into_iter().map(|r| ServiceRow::new(r, &t, tz)).collect(),
        older,
        l: super::layout(&state, &ctx, &s, "/staff/services").await?,
        t,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "staff/reconcile.html")]
struct ReconcilePage {
    t: Tr,
    l: Layout,
    upstreams: Vec<UpstreamReport>,
}

/// The reconciler's report, run now against every upstream (it only reads; the daily run
/// tells staff by notice when something is off).
pub async fn reconcile_report(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    let report = reconcile::report(&state.core, &s.principal).await?;
    let page = ReconcilePage {
        upstreams: report.upstreams,
        l: super::layout(&state, &ctx, &s, "/staff/services").await?,
        t: Tr::new(ctx.lang),
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "staff/service.html")]
struct ServicePage {
    t: Tr,
    l: Layout,
    r: ServiceRow,
    done: Option<String>,
    /// (form, message): a refused form's message, drawn above the forms.
    error: Option<(&'static str, String)>,
}

impl ServicePage {
    fn is_terminated(&self) -> bool {
        self.r.s.state == "terminated"
    }

    /// An order to be `desired` is offered unless the service should be that already.
    fn offers(&self, desired: &str) -> bool {
        !self.is_terminated() && self.r.s.desired != desired
    }
}

async fn service_page(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    id: i64,
    (done, error): (Option<String>, Option<(&'static str, String)>),
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    // The service first: it checks the member's permission before anything else is read.
    let service = console::service(&state.core, &s.principal, id).await?;
    let page = ServicePage {
        r: ServiceRow::new(service, &t, &state.core.config.business.time_zone),
        done,
        error,
        l: super::layout(state, ctx, s, &format!("/staff/services/{id}")).await?,
        t,
    };
    Ok(render(&page))
}

pub async fn service(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Query(q): Query<super::DoneQuery>,
) -> Result<Response, WebError> {
    let key = match q.done.as_str() {
        "retry" => Some("staff-services-done-retry"),
        "active" => Some("staff-services-done-active"),
        "suspended" => Some("staff-services-done-suspended"),
        "terminated" => Some("staff-services-done-terminated"),
        _ => None,
    };
    let done = key.map(|k| Tr::new(ctx.lang).t(k));
    service_page(&state, &ctx, &s, id, (done, None)).await
}

/// A form's outcome: the service with the notice of what was done, or with the refusal at the
/// form, answered 422.
async fn outcome(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    (id, form, done): (i64, &'static str, &str),
    result: Result<(), Error>,
) -> Result<Response, WebError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/staff/services/{id}?done={done}")).into_response()),
        Err(e) => {
            let error = Some((form, refusal(e, &Tr::new(ctx.lang))?));
            Ok(refused(service_page(state, ctx, s, id, (None, error)).await?))
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RetryForm {
    reason: String,
    csrf: String,
}

/// Runs the service's job again: a create waiting for staff resumes from its checkpoint.
pub async fn retry(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<RetryForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::ServicesManage)?;
    let result = console::retry(&state.core, &s.principal, id, &f.reason, &s.meta, state.core.now()).await;
    outcome(&state, &ctx, &s, (id, "retry", "retry"), result).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct OrderForm {
    /// `active`, `suspended` or `terminated`: the button pressed.
    desired: String,
    reason: String,
    /// The box that confirms a termination: present only when ticked.
    confirm: Option<String>,
    csrf: String,
}

/// Staff's order: the service should be suspended, running again, or terminated.
pub async fn order(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<OrderForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::ServicesManage)?;
    let terminate = f.desired == "terminated";
    let form = if terminate { "terminate" } else { "order" };
    let result = if terminate && f.confirm.is_none() {
        Err(Error::validation("confirm", "service-terminate-confirm"))
    } else {
        console::order(&state.core, &s.principal, id, &f.desired, &f.reason, &s.meta, state.core.now()).await
    };
    // The core took the value, so it is one of the three the notice knows.
    outcome(&state, &ctx, &s, (id, form, &f.desired), result).await
}
