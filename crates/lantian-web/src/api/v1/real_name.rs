//! Real-name verification (实名认证) over the API: the caller's state, their submission, and a
//! guardian's written consent for customers of 16 and 17. The name and the number go in and
//! never come out: answers carry the masked forms only.

use std::error::Error as _;

use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use lantian_core::apitokens::Scope;
use lantian_core::kyc::guardian::{self, Upload};
use lantian_core::kyc::{self, GuardianConsent, Outcome, Record, Submission};
use lantian_core::{Error, UnixMs};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::customer;
use super::me::ApiCaller;
use crate::AppState;
use crate::auth::Meta;
use crate::error::WebError;

/// One guardian's consent as the customer sees it: neither the guardian's name nor the document.
#[derive(Serialize, ToSchema)]
pub struct GuardianConsentOut {
    id: i64,
    /// `father`, `mother` or `guardian`.
    relationship: String,
    /// `pending`, `approved` or `rejected`.
    state: String,
    /// Staff's reason, for a rejection.
    review_reason: Option<String>,
    submitted_at: i64,
}

impl From<GuardianConsent> for GuardianConsentOut {
    fn from(c: GuardianConsent) -> Self {
        GuardianConsentOut {
            id: c.id,
            relationship: c.relationship,
            state: c.state,
            review_reason: c.review_reason,
            submitted_at: c.submitted_at.0,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GuardianOut {
    /// True while the caller is verified as 16 or 17 and no consent is approved: they may not
    /// buy until one is (upload it to `/api/v1/real-name/guardian-consent`).
    needed: bool,
    /// Newest first.
    consents: Vec<GuardianConsentOut>,
}

#[derive(Serialize, ToSchema)]
pub struct RealNameStatus {
    /// `none` (never submitted), `pending`, `verified`, `rejected` or `revoked`.
    state: String,
    /// `mainland_id`, `hk_permit`, `mo_permit` or `tw_permit`.
    document_kind: Option<String>,
    /// Masked, e.g. `张*`; the plain name is never shown.
    name_masked: Option<String>,
    /// Masked, e.g. `1101**********0014`.
    number_masked: Option<String>,
    /// The provider's verdict: `match`, `mismatch` or `not_found`; null while pending.
    outcome: Option<String>,
    /// The verification provider a submission goes to, to be named in the consent; null when
    /// verification is not available.
    provider: Option<&'static str>,
    submitted_at: Option<i64>,
    verified_at: Option<i64>,
    guardian: GuardianOut,
}

impl RealNameStatus {
    fn new(
        record: Option<&Record>,
        consents: Vec<GuardianConsent>,
        provider: Option<&'static str>,
        now: UnixMs,
    ) -> Self {
        let guardian = GuardianOut {
            needed: lantian_core::kyc::guardian::needed(record, &consents, now),
            consents: consents.into_iter().map(GuardianConsentOut::from).collect(),
        };
        RealNameStatus {
            state: record.map_or_else(|| "none".into(), |r| r.state.clone()),
            document_kind: record.map(|r| r.document_kind.clone()),
            name_masked: record.map(|r| r.name_masked.clone()),
            number_masked: record.map(|r| r.number_masked.clone()),
            // While pending, the record's outcome is the provider's last error code: for staff.
            outcome: record.filter(|r| r.state != "pending").and_then(|r| r.outcome.clone()),
            provider,
            submitted_at: record.map(|r| r.submitted_at.0),
            verified_at: record.and_then(|r| r.verified_at).map(|t| t.0),
            guardian,
        }
    }
}

/// The caller's real-name verification and, for customers of 16 and 17, their guardians'
/// consents. Name and number are shown masked only.
#[utoipa::path(
    get,
    path = "/api/v1/real-name",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's verification", body = RealNameStatus),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "real-name"
)]
pub async fn status(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<RealNameStatus>, WebError> {
    let customer_id = customer(&caller, Scope::Read)?;
    let record = kyc::record(&state.core, customer_id).await?;
    let consents = guardian::consents_of(&state.core, customer_id).await?;
    let provider = state.core.kyc.as_ref().map(|p| p.name());
    Ok(Json(RealNameStatus::new(record.as_ref(), consents, provider, state.core.now())))
}

/// Deliberately no `Debug`: the body holds the plain name and number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RealNameRequest {
    /// Must be true: the customer's separate consent (purpose `real_name`) that the name and
    /// number go to the verification provider named in it (`provider` of the status).
    consent: bool,
    /// As printed on the document: 2 to 40 letters, `·` or single spaces between them.
    name: String,
    /// The 18-character number of a mainland resident ID card or a Hong Kong, Macau or Taiwan
    /// residence permit.
    id_number: String,
}

#[derive(Serialize, ToSchema)]
pub struct RealNameSubmitted {
    /// `verified`, `rejected`, `pending` (the provider could not answer; it is asked again
    /// automatically: poll `GET /api/v1/real-name`) or `account_closed`.
    outcome: &'static str,
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Verified => "verified",
        Outcome::Rejected => "rejected",
        Outcome::Pending => "pending",
        Outcome::ChildClosed => "account_closed",
    }
}

/// Verifies the caller's real name.
///
/// `consent` must be true: it is the separate consent (purpose `real_name`) to give the name
/// and the ID number to the verification provider named in it (`provider` of the status). They
/// are sent only to that provider, over HTTPS, and stored encrypted.
///
/// The number is checked here first (format, region, birth date, check character), and the
/// age computed from it before anything is stored or sent. A number showing a holder under 16
/// closes the account at once, its personal data deleted and nothing sent: the answer is
/// `account_closed`, and the token no longer works. A verified customer of 16 or 17 needs a
/// guardian's consent before buying. Once verified, the record can only be changed by staff
/// (409); a rejected or revoked one may be submitted again, a few times a day.
#[utoipa::path(
    post,
    path = "/api/v1/real-name",
    request_body = RealNameRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The outcome", body = RealNameSubmitted),
        (status = 400, description = "Malformed JSON", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token with the `write` scope", body = super::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The verification is pending or done", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A value is refused (`field`: `consent`, `real_name` or `id_number`), verification is not available, or today's attempts are used up", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "real-name"
)]
pub async fn submit(
    State(state): State<AppState>,
    caller: ApiCaller,
    Meta(m): Meta,
    Json(r): Json<RealNameRequest>,
) -> Result<Json<RealNameSubmitted>, WebError> {
    let customer_id = customer(&caller, Scope::Write)?;
    let s = Submission { consent: r.consent, name: &r.name, id_number: &r.id_number };
    let outcome = kyc::submit(&state.core, customer_id, &s, &m, state.core.now()).await?;
    Ok(Json(RealNameSubmitted { outcome: outcome_name(outcome) }))
}

/// The upload form. A part left out counts as empty, which is refused with that part's
/// `field`; any other part is refused, as unknown JSON fields are.
#[derive(Default, ToSchema)]
pub struct GuardianConsentForm {
    /// The guardian's name as on their ID document.
    guardian_name: String,
    /// `father`, `mother` or `guardian`.
    relationship: String,
    /// The signed consent: a PDF, JPEG or PNG (checked from its content) of at most 5 MB.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    document: Bytes,
}

impl GuardianConsentForm {
    async fn read(mut form: Multipart) -> Result<Self, Response> {
        let mut f = GuardianConsentForm::default();
        while let Some(part) = form.next_field().await.map_err(unreadable)? {
            match part.name() {
                Some("guardian_name") => f.guardian_name = part.text().await.map_err(unreadable)?,
                Some("relationship") => f.relationship = part.text().await.map_err(unreadable)?,
                Some("document") => f.document = part.bytes().await.map_err(unreadable)?,
                _ => return Err(StatusCode::UNPROCESSABLE_ENTITY.into_response()),
            }
        }
        Ok(f)
    }
}

/// A form that could not be read. A body cut off by a size limit is too large however deep the
/// limit's error sits: axum finds it only directly below its own error, and answers the
/// server-wide limit (which cuts a chunked body off first) as an internal error.
fn unreadable(e: MultipartError) -> Response {
    let mut causes = std::iter::successors(e.source(), |&c| c.source());
    if causes.any(|c| c.is::<http_body_util::LengthLimitError>()) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    e.into_response()
}

/// The guardian's name is checked by the rule for real names, which names the field
/// `real_name`; here the part is `guardian_name`.
fn guardian_field(e: Error) -> WebError {
    match e {
        Error::Validation { field: "real_name", code } => WebError(Error::validation("guardian_name", code)),
        e => WebError(e),
    }
}

#[derive(Serialize, ToSchema)]
pub struct GuardianConsentFiled {
    id: i64,
}

/// Uploads a guardian's signed written consent.
///
/// For a customer verified as 16 or 17, for compliance staff to review (`guardian.consents` of
/// the status shows the result); one consent may wait or be approved at a time. The document's
/// type is read from its content, whatever the part's `Content-Type` says; it is stored
/// encrypted and deleted when the customer turns 18 or closes the account. This route takes
/// bodies up to 5 MB plus 64 KiB.
#[utoipa::path(
    post,
    path = "/api/v1/real-name/guardian-consent",
    request_body(content = GuardianConsentForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The consent is filed for review", body = GuardianConsentFiled),
        (status = 400, description = "Not a readable multipart/form-data body", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token with the `write` scope", body = super::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A consent is already waiting or approved", body = super::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than this route takes", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A part is missing, unknown or refused (`field` names it: `document` for a wrong type or size), or the caller needs no consent", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "real-name"
)]
pub async fn upload_guardian_consent(
    State(state): State<AppState>,
    caller: ApiCaller,
    Meta(m): Meta,
    form: Multipart,
) -> axum::response::Result<(StatusCode, Json<GuardianConsentFiled>)> {
    let customer_id = customer(&caller, Scope::Write)?;
    let f = GuardianConsentForm::read(form).await?;
    let u = Upload { guardian_name: &f.guardian_name, relationship: &f.relationship, document: &f.document };
    let id = guardian::upload(&state.core, customer_id, &u, &m, state.core.now()).await.map_err(guardian_field)?;
    Ok((StatusCode::CREATED, Json(GuardianConsentFiled { id })))
}
