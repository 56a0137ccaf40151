//! The customer's real-name verification (实名认证): why it is asked and where the data goes
//! before anything is typed (C1.3), the separate consent, the form, the result, and for
//! customers of 16 or 17 the guardian's written consent (`guardian`).

mod guardian;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Extension, Query, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use lantian_core::authz::Subject;
use lantian_core::disclosures::{self, Recipient};
use lantian_core::i18n::Tr;
use lantian_core::kyc::{self, GuardianConsent, Outcome, Record, Submission};
use serde::Deserialize;

use super::account::message;
use super::{Area, Layout, format_time, refused, render};
use crate::AppState;
use crate::auth::{CustomerCtx, clear_session_cookie, remember_cookie};
use crate::error::WebError;
use crate::middleware::RequestContext;

pub fn routes() -> Router<AppState> {
    Router::new().route("/account/real-name", get(page).post(submit))
}

/// Served with the upload size limit instead of the usual one (see `app::uploads`).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/account/real-name/guardian", post(guardian::upload))
}

#[derive(Template)]
#[template(path = "real_name/page.html")]
struct RealNamePage {
    t: Tr,
    l: Layout,
    /// The provider named in the consent and the explanation.
    provider: String,
    record: Option<Record>,
    /// The form is offered: no record yet, or a rejected or revoked one.
    open: bool,
    /// Verified, 16 or 17, and no consent approved yet.
    guardian_needed: bool,
    consents: Vec<GuardianConsent>,
    /// When the name and number went to the provider: (time, provider).
    disclosed: Vec<(String, String)>,
    /// A flash line: the result of what was just done, or what was wrong.
    notice: Option<String>,
    error: Option<String>,
}

impl RealNamePage {
    fn provider_args(&self) -> std::collections::BTreeMap<String, String> {
        [("provider".to_string(), self.provider.clone())].into()
    }
}

pub(super) async fn real_name_page(
    state: &AppState,
    ctx: &RequestContext,
    customer_id: i64,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let core = &state.core;
    let t = Tr::new(ctx.lang);
    let record = kyc::record(core, customer_id).await?;
    let consents = kyc::guardian::consents_of(core, customer_id).await?;
    let tz = &core.config.business.time_zone;
    let disclosed = disclosures::for_subject(&core.db, Subject::customer(customer_id))
        .await?
        .into_iter()
        .filter(|d| d.recipient == Recipient::RealNameProvider.as_str())
        .map(|d| (format_time(tz, d.at), t.t(&format!("kyc-provider-{}", d.recipient_name))))
        .collect();
    let now = core.now();
    let needed = kyc::guardian::needed(record.as_ref(), &consents, now);
    let page = RealNamePage {
        provider: core.kyc.as_ref().map(|p| t.t(&format!("kyc-provider-{}", p.name()))).unwrap_or_default(),
        open: record.as_ref().is_none_or(|r| matches!(r.state.as_str(), "rejected" | "revoked")),
        // One consent at a time: none to upload while one waits for review.
        guardian_needed: needed && !consents.iter().any(|c| c.state == "pending"),
        record,
        consents,
        disclosed,
        notice,
        l: Layout::from_ctx(ctx, "/account/real-name", Area::Portal),
        t,
        error: error.clone(),
    };
    let res = render(&page);
    Ok(if error.is_some() { refused(res) } else { res })
}

#[derive(Deserialize)]
pub struct ResultQuery {
    result: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Query(q): Query<ResultQuery>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let notice = match q.result.as_deref() {
        Some(r @ ("verified" | "rejected" | "pending")) => Some(t.t(&format!("kyc-result-{r}"))),
        Some("guardian") => Some(t.t("kyc-guardian-uploaded")),
        _ => None,
    };
    real_name_page(&state, &ctx, c.customer.id, notice, None).await
}

#[derive(Deserialize)]
pub struct SubmitForm {
    /// The unticked box: present only when ticked.
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Form(f): Form<SubmitForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let s = Submission { consent: f.consent.is_some(), name: &f.name, id_number: &f.id_number };
    match kyc::submit(&state.core, c.customer.id, &s, &c.meta, state.core.now()).await {
        Ok(Outcome::ChildClosed) => {
            let mut res = message(&ctx, "kyc-closed-title", "kyc-closed-body", None);
            res.headers_mut().append(SET_COOKIE, clear_session_cookie(&state));
            res.headers_mut().append(SET_COOKIE, remember_cookie(&state, None));
            Ok(res)
        }
        // Post/redirect/get: a reload does not submit again.
        Ok(outcome) => Ok(Redirect::to(&format!("/account/real-name?result={}", result_key(outcome))).into_response()),
        Err(lantian_core::Error::Validation { code, .. } | lantian_core::Error::Conflict(code)) => {
            let error = Some(t.t(&format!("invalid-{code}")));
            real_name_page(&state, &ctx, c.customer.id, None, error).await
        }
        Err(e) => Err(WebError(e)),
    }
}

fn result_key(o: Outcome) -> &'static str {
    match o {
        Outcome::Verified => "verified",
        Outcome::Rejected => "rejected",
        Outcome::Pending | Outcome::ChildClosed => "pending",
    }
}
