//! The caller's servers over the API: the list, one server, power actions and renewal. Another
//! customer's server is "not found", never "forbidden". The first-login password is not here:
//! like real-name data, secrets go into the API and never come out; the account centre shows
//! it once (`has_password` says it is still there to collect).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{StatusCode, header};
use lantian_core::Error;
use lantian_core::apitokens::Scope;
use lantian_core::provisioning::{self, Service, portal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::customer;
use super::me::ApiCaller;
use crate::AppState;
use crate::error::WebError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/services", get(list))
        .route("/services/{id}", get(one))
        .route("/services/{id}/power", post(power))
        .route("/services/{id}/renew", post(renew))
}

/// Ids arrive unsigned, so a negative one is refused before any lookup; one beyond `i64`
/// cannot exist.
fn id(v: u64) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::NotFound)
}

#[derive(Serialize, ToSchema)]
pub struct ServiceOut {
    id: i64,
    /// `lc-<id>`: the server's name in every notice and at the upstream.
    name: String,
    order_id: i64,
    plan_id: i64,
    plan_zh: String,
    plan_en: String,
    region_id: i64,
    region_zh: String,
    region_en: String,
    os_image: String,
    /// The renewal period, in months.
    months: i64,
    /// `pending`, `provisioning`, `active`, `suspended`, `terminated` or `needs_attention`
    /// (waiting for our staff).
    state: String,
    /// Where the server is being taken: `active`, `suspended` or `terminated`.
    desired: String,
    ip: Option<String>,
    /// A power action asked for and not yet done: `start`, `stop` or `reboot`.
    power_request: Option<String>,
    /// An operation runs at the upstream now.
    busy: bool,
    /// The first-login password is still held: see it on the server's page in the account
    /// centre (it is never sent over the API).
    has_password: bool,
    /// The unpaid renewal invoice, if one is issued (pay it at `/api/v1/invoices/{id}/payments`).
    renewal_invoice_id: Option<i64>,
    /// Epoch milliseconds, as every time in the API.
    created_at: i64,
    activated_at: Option<i64>,
    expires_at: Option<i64>,
    suspended_at: Option<i64>,
    terminated_at: Option<i64>,
}

impl From<Service> for ServiceOut {
    fn from(s: Service) -> Self {
        ServiceOut {
            name: s.name(),
            id: s.id,
            order_id: s.order_id,
            plan_id: s.plan_id,
            plan_zh: s.plan_zh,
            plan_en: s.plan_en,
            region_id: s.region_id,
            region_zh: s.region_zh,
            region_en: s.region_en,
            os_image: s.os_image,
            months: s.months,
            state: s.state,
            desired: s.desired,
            ip: s.ip,
            power_request: s.power_request,
            busy: s.busy,
            has_password: s.has_password,
            renewal_invoice_id: s.renewal_invoice_id,
            created_at: s.created_at.0,
            activated_at: s.activated_at.map(|t| t.0),
            expires_at: s.expires_at.map(|t| t.0),
            suspended_at: s.suspended_at.map(|t| t.0),
            terminated_at: s.terminated_at.map(|t| t.0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ServiceList {
    /// Newest first.
    items: Vec<ServiceOut>,
}

/// The caller's servers, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/services",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's servers", body = ServiceList),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "services"
)]
pub async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<ServiceList>, WebError> {
    let customer_id = customer(&caller, Scope::Read)?;
    let rows = provisioning::services_of(&state.core, customer_id).await?;
    Ok(Json(ServiceList { items: rows.into_iter().map(ServiceOut::from).collect() }))
}

/// One of the caller's servers.
#[utoipa::path(
    get,
    path = "/api/v1/services/{id}",
    params(("id" = u64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The server", body = ServiceOut),
        (status = 400, description = "Malformed id", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token", body = super::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such server of the caller", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "services"
)]
pub async fn one(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(service_id): Path<u64>,
) -> Result<Json<ServiceOut>, WebError> {
    let customer_id = customer(&caller, Scope::Read)?;
    Ok(Json(provisioning::service_of(&state.core, customer_id, id(service_id)?).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerRequest {
    /// `start`, `stop` or `reboot`.
    action: String,
}

#[derive(Serialize, ToSchema)]
pub struct PowerAccepted {
    /// The action asked for; the server's `power_request` shows it until it is done.
    power_request: String,
}

/// Asks for a power action. It runs shortly after: poll the server until `power_request` is
/// null. Refused while the server is not running (suspended: pay the renewal first), while
/// another action or operation is under way, and beyond 10 a minute.
#[utoipa::path(
    post,
    path = "/api/v1/services/{id}/power",
    params(("id" = u64, Path)),
    request_body = PowerRequest,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Asked for; the server's address is in `Location`", body = PowerAccepted),
        (status = 400, description = "Malformed JSON or id", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token with the `write` scope", body = super::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such server of the caller", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown action (`field` is `action`), or the server's state refuses it (`field` is `service`)", body = super::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many power actions; see `Retry-After`", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "services"
)]
pub async fn power(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(service_id): Path<u64>,
    Json(p): Json<PowerRequest>,
) -> Result<Response, WebError> {
    let customer_id = customer(&caller, Scope::Write)?;
    let service_id = id(service_id)?;
    portal::power(&state.core, customer_id, service_id, &p.action, state.core.now()).await?;
    let location = [(header::LOCATION, format!("/api/v1/services/{service_id}"))];
    Ok((StatusCode::ACCEPTED, location, Json(PowerAccepted { power_request: p.action })).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Renewal {
    /// The unpaid renewal invoice: the one already issued, or a new one.
    invoice_id: i64,
}

/// The server's renewal invoice, issued now unless one is waiting. Paying it (like any invoice)
/// extends the server, and brings a suspended one back.
#[utoipa::path(
    post,
    path = "/api/v1/services/{id}/renew",
    params(("id" = u64, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The renewal invoice; its address is in `Location`", body = Renewal),
        (status = 400, description = "Malformed id", body = super::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a customer's token with the `write` scope", body = super::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such server of the caller", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The server cannot be renewed (terminated, or not created yet)", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "services"
)]
pub async fn renew(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(service_id): Path<u64>,
) -> Result<Response, WebError> {
    let customer_id = customer(&caller, Scope::Write)?;
    let invoice_id = portal::renew(&state.core, customer_id, id(service_id)?, state.core.now()).await?;
    let location = [(header::LOCATION, format!("/api/v1/invoices/{invoice_id}"))];
    Ok((location, Json(Renewal { invoice_id })).into_response())
}
