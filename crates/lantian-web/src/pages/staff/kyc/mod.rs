//! The console's real-name pages (`ComplianceManage`, C4.2): the records, masked; one field of a
//! record revealed with a reason (audited); revocation; correction on the customer's request,
//! which asks the provider again; and closing an account found to belong to a child (C7.2).
//! `guardian`: the guardians' written consents (C7.1).

pub mod guardian;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::authz::Permission;
use lantian_core::i18n::Tr;
use lantian_core::kyc::{self, Outcome, Record};
use lantian_core::{Error, UnixMs, accounts, billing};
use serde::Deserialize;

use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, format_time, older_link, refused, render};
use guardian::ConsentRow;

const STATES: [&str; 4] = ["pending", "verified", "rejected", "revoked"];

/// A refused form's message in the member's language: refused input, and a record or consent
/// no longer in the state the form was drawn for. Anything else stays an error page.
fn refusal(e: Error, t: &Tr) -> Result<String, WebError> {
    match e {
        Error::Validation { code, .. } | Error::Conflict(code) => Ok(t.t(&format!("invalid-{code}"))),
        e => Err(e.into()),
    }
}

/// Personal data, even masked, is not kept by the browser's cache.
fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    res
}

fn time(tz: &str, at: Option<UnixMs>) -> String {
    at.map(|at| format_time(tz, at)).unwrap_or_default()
}

/// A record as the list and the detail show it: masked, labels translated.
pub struct RecordView {
    pub customer_id: i64,
    pub username: String,
    pub kind: String,
    pub name: String,
    pub number: String,
    /// `pending`, `verified`, `rejected` or `revoked`.
    pub state: String,
    pub state_label: String,
    pub outcome: String,
    pub provider: String,
    pub tries: i64,
    pub submitted: String,
    pub verified: String,
    pub revoked: String,
    /// When a customer of 16 or 17 turns 18; empty for adults.
    pub adult: String,
}

impl RecordView {
    fn new(r: Record, username: String, t: &Tr, tz: &str) -> RecordView {
        let outcome = match r.outcome.as_deref() {
            None => String::new(),
            Some(o @ ("match" | "mismatch" | "not_found")) => t.t(&format!("staff-kyc-outcome-{o}")),
            // A provider's error code, kept as the provider said it.
            Some(code) => t.t1("staff-kyc-outcome-error", "code", code),
        };
        RecordView {
            customer_id: r.customer_id,
            username,
            kind: t.t(&format!("staff-kyc-kind-{}", r.document_kind)),
            name: r.name_masked,
            number: r.number_masked,
            state_label: t.t(&format!("staff-kyc-state-{}", r.state)),
            state: r.state,
            outcome,
            provider: r.provider.unwrap_or_default(),
            tries: r.tries,
            submitted: format_time(tz, r.submitted_at),
            verified: time(tz, r.verified_at),
            revoked: time(tz, r.revoked_at),
            adult: time(tz, r.adult_at),
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    state: String,
    done: String,
    before: i64,
}

#[derive(Template)]
#[template(path = "staff/kyc_records.html")]
struct RecordsPage {
    t: Tr,
    l: Layout,
    /// (value, label, chosen) of the filter's choices; none chosen lists all.
    states: Vec<(&'static str, String, bool)>,
    records: Vec<RecordView>,
    older: Option<String>,
    done: Option<String>,
}

pub async fn records(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    s.principal.require(Permission::ComplianceManage)?;
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    let (filter, states) = super::state_filter(&STATES, &q.state, "staff-kyc-state-", &t);
    let rows = kyc::staff::records(&state.core, &s.principal, filter, q.before).await?;
    let last = rows.last().map(|(r, _)| r.customer_id);
    let older = older_link(rows.len() as i64 == billing::CONSOLE_PAGE, last, &[("state", filter.unwrap_or(""))]);
    let page = RecordsPage {
        states,
        records: rows.into_iter().map(|(r, username)| RecordView::new(r, username, &t, tz)).collect(),
        older,
        done: (q.done == "closed").then(|| t.t("staff-kyc-done-closed")),
        l: super::layout(&state, &ctx, &s, "/staff/real-names").await?,
        t,
    };
    Ok(no_store(render(&page)))
}

#[derive(Template)]
#[template(path = "staff/kyc_record.html")]
struct RecordPage {
    t: Tr,
    l: Layout,
    r: RecordView,
    /// The field shown in full on this page only (`real_name` or `id_number`).
    revealed: Option<&'static str>,
    consents: Vec<ConsentRow>,
    done: Option<String>,
    /// (form, message): a refused form's message, drawn above the record since the form may be
    /// gone (another member changed the record meanwhile).
    error: Option<(&'static str, String)>,
}

impl RecordPage {
    /// The sealed values are kept while pending or verified; afterwards there is nothing to reveal.
    fn can_reveal(&self) -> bool {
        matches!(self.r.state.as_str(), "pending" | "verified")
    }

    /// A pending record waits for the provider; any other may be corrected.
    fn can_correct(&self) -> bool {
        self.r.state != "pending"
    }

    fn is_revealed(&self, field: &str) -> bool {
        self.revealed == Some(field)
    }
}

/// What the record page says besides the record.
#[derive(Default)]
struct Notes {
    done: Option<String>,
    /// (field, plain value) of an audited reveal.
    revealed: Option<(&'static str, String)>,
    error: Option<(&'static str, String)>,
}

async fn record_page(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    id: i64,
    n: Notes,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let tz = &state.core.config.business.time_zone;
    // The record first: it checks the member's permission before anything else is read.
    let record = kyc::staff::record(&state.core, &s.principal, id).await?;
    let username = accounts::get(&state.core, id).await?.username;
    let mut r = RecordView::new(record, username, &t, tz);
    let revealed = n.revealed.map(|(field, value)| {
        if field == "real_name" {
            r.name = value
        } else {
            r.number = value
        }
        field
    });
    let consents = kyc::guardian::consents_of(&state.core, id).await?;
    let page = RecordPage {
        r,
        revealed,
        consents: consents.into_iter().map(|c| ConsentRow::new(c, &t, tz)).collect(),
        done: n.done,
        error: n.error,
        l: super::layout(state, ctx, s, &format!("/staff/real-names/{id}")).await?,
        t,
    };
    Ok(no_store(render(&page)))
}

pub async fn record(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Query(q): Query<super::DoneQuery>,
) -> Result<Response, WebError> {
    s.principal.require(Permission::ComplianceManage)?;
    let key = match q.done.as_str() {
        "revoked" => Some("staff-kyc-done-revoked"),
        "verified" => Some("staff-kyc-done-verified"),
        "rejected" => Some("staff-kyc-done-rejected"),
        "pending" => Some("staff-kyc-done-pending"),
        _ => None,
    };
    let done = key.map(|k| Tr::new(ctx.lang).t(k));
    record_page(&state, &ctx, &s, id, Notes { done, ..Notes::default() }).await
}

/// The record again with `form`'s refusal above it, answered 422.
async fn refused_at(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    (id, form): (i64, &'static str),
    e: Error,
) -> Result<Response, WebError> {
    let error = Some((form, refusal(e, &Tr::new(ctx.lang))?));
    Ok(refused(record_page(state, ctx, s, id, Notes { error, ..Notes::default() }).await?))
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RevealForm {
    /// `real_name` or `id_number`: the button pressed.
    field: String,
    reason: String,
    csrf: String,
}

/// One field in full, on this answer only: the reveal and its reason are in the audit trail.
pub async fn reveal(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<RevealForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::ComplianceManage)?;
    let now = state.core.now();
    match kyc::staff::reveal(&state.core, &s.principal, id, &f.field, &f.reason, &s.meta, now).await {
        Ok(value) => {
            // The core accepted the field, so it is one of the two.
            let field = if f.field == "real_name" { "real_name" } else { "id_number" };
            record_page(&state, &ctx, &s, id, Notes { revealed: Some((field, value)), ..Notes::default() }).await
        }
        Err(e) => refused_at(&state, &ctx, &s, (id, "reveal"), e).await,
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ReasonForm {
    reason: String,
    csrf: String,
}

/// Withdraws the verification: the customer may not buy in mainland regions until verified again.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::ComplianceManage)?;
    match kyc::staff::revoke(&state.core, &s.principal, id, &f.reason, &s.meta, state.core.now()).await {
        Ok(()) => Ok(Redirect::to(&format!("/staff/real-names/{id}?done=revoked")).into_response()),
        Err(e) => refused_at(&state, &ctx, &s, (id, "revoke"), e).await,
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CorrectForm {
    name: String,
    id_number: String,
    reason: String,
    csrf: String,
}

/// The corrected name and number the customer asked for, verified by the provider again; the
/// page then says how that ended.
pub async fn correct(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<CorrectForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::ComplianceManage)?;
    let core = &state.core;
    // Only a record the customer once submitted is corrected; the core would create one.
    kyc::staff::record(core, &s.principal, id).await?;
    let now = core.now();
    let to = match kyc::staff::correct(core, &s.principal, id, &f.name, &f.id_number, &f.reason, &s.meta, now).await {
        Ok(Outcome::Verified) => format!("/staff/real-names/{id}?done=verified"),
        Ok(Outcome::Rejected) => format!("/staff/real-names/{id}?done=rejected"),
        Ok(Outcome::Pending) => format!("/staff/real-names/{id}?done=pending"),
        // The core refuses numbers under 16 for corrections, but a closed account has no page.
        Ok(Outcome::ChildClosed) => "/staff/real-names?done=closed".to_string(),
        Err(e) => return refused_at(&state, &ctx, &s, (id, "correct"), e).await,
    };
    Ok(Redirect::to(&to).into_response())
}

/// "Child found": the account is closed and its personal data deleted at once; the list says so.
pub async fn child_found(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    s.principal.require(Permission::ComplianceManage)?;
    match kyc::child::close(&state.core, &s.principal, id, &f.reason, &s.meta, state.core.now()).await {
        Ok(()) => Ok(Redirect::to("/staff/real-names?done=closed").into_response()),
        Err(e) => refused_at(&state, &ctx, &s, (id, "child"), e).await,
    }
}
