//! The guardians' written consents waiting for review (C7.1): each document is viewed only
//! through an audited reveal with a reason, then approved or rejected with a reason.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use http::{HeaderValue, header};
use lantian_core::authz::Permission;
use lantian_core::i18n::Tr;
use lantian_core::kyc::{self, GuardianConsent};
use lantian_core::{Error, accounts};

use super::{ReasonForm, no_store, refusal, time};
use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::staff::DoneQuery;
use crate::pages::{Layout, format_time, refused, render};

/// A consent as the console lists it: never the guardian's name or the document.
pub struct ConsentRow {
    pub id: i64,
    pub customer_id: i64,
    pub relationship: String,
    pub content_type: String,
    pub size: String,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    pub state_label: String,
    pub review_reason: String,
    pub submitted: String,
    pub reviewed: String,
}

impl ConsentRow {
    pub fn new(c: GuardianConsent, t: &Tr, tz: &str) -> ConsentRow {
        ConsentRow {
            id: c.id,
            customer_id: c.customer_id,
            relationship: t.t(&format!("staff-kyc-relationship-{}", c.relationship)),
            content_type: c.content_type,
            // Whole KiB, rounded up: a tiny scan does not show as 0.
            size: t.t1("staff-kyc-size-kib", "kib", (c.size_bytes + 1023) / 1024),
            state_label: t.t(&format!("staff-kyc-consent-state-{}", c.state)),
            state: c.state,
            review_reason: c.review_reason.unwrap_or_default(),
            submitted: format_time(tz, c.submitted_at),
            reviewed: time(tz, c.reviewed_at),
        }
    }
}

/// A pending consent with its customer's username.
pub struct PendingRow {
    pub c: ConsentRow,
    pub username: String,
}

#[derive(Template)]
#[template(path = "staff/guardian_consents.html")]
struct PendingPage {
    t: Tr,
    l: Layout,
    rows: Vec<PendingRow>,
    done: Option<String>,
    /// (consent, message): a refused form's message, drawn above the list since the consent
    /// may have left it (another member reviewed it meanwhile).
    error: Option<(i64, String)>,
}

async fn page(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    done: Option<String>,
    error: Option<(i64, String)>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    let mut rows = vec![];
    for c in kyc::guardian::pending(&state.core, &s.principal).await? {
        let username = accounts::get(&state.core, c.customer_id).await?.username;
        rows.push(PendingRow { c: ConsentRow::new(c, &t, tz), username });
    }
    let l = crate::pages::staff::layout(state, ctx, s, "/staff/guardian-consents").await?;
    Ok(no_store(render(&PendingPage { t, l, rows, done, error })))
}

pub async fn pending(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    s.principal.require(Permission::ComplianceManage)?;
    let key = match q.done.as_str() {
        "approved" => Some("staff-kyc-done-approved"),
        "rejected" => Some("staff-kyc-done-consent-rejected"),
        _ => None,
    };
    page(&state, &ctx, &s, key.map(|k| Tr::new(ctx.lang).t(k)), None).await
}

/// The list again with the refusal of consent `id`'s form above it, answered 422.
async fn refused_at(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    id: i64,
    e: Error,
) -> Result<Response, WebError> {
    let msg = refusal(e, &Tr::new(ctx.lang))?;
    Ok(refused(page(state, ctx, s, None, Some((id, msg))).await?))
}

/// The document itself, answering the audited reveal (there is no GET link to it: every view is
/// a reveal with a reason). The type comes from the document's first bytes, never from what
/// the customer's browser claimed, and is one of PDF, JPEG and PNG; `nosniff` keeps the browser
/// to it, so an upload is never run as a page of ours. The guardian's name is not sent: it is
/// in the document, and a header must not carry personal data.
pub async fn document(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::ComplianceManage)?;
    match kyc::guardian::reveal(&state.core, &s.principal, id, &f.reason, &s.meta, state.core.now()).await {
        Ok((_, content_type, bytes)) => {
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CONTENT_DISPOSITION, HeaderValue::from_static("inline")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ];
            Ok((headers, bytes).into_response())
        }
        Err(e) => refused_at(&state, &ctx, &s, id, e).await,
    }
}

pub async fn approve(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    review(&state, &ctx, &s, (id, true), f).await
}

pub async fn reject(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    review(&state, &ctx, &s, (id, false), f).await
}

/// An approval lets the customer buy; a rejection's reason is shown to them.
async fn review(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    (id, approve): (i64, bool),
    f: ReasonForm,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::ComplianceManage)?;
    match kyc::guardian::review(&state.core, &s.principal, id, approve, &f.reason, &s.meta, state.core.now()).await {
        Ok(()) => {
            let done = if approve { "approved" } else { "rejected" };
            Ok(Redirect::to(&format!("/staff/guardian-consents?done={done}")).into_response())
        }
        Err(e) => refused_at(state, ctx, s, id, e).await,
    }
}
