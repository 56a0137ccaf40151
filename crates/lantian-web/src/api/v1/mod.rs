//! Version 1 of the JSON API and its OpenAPI 3.1 description.

mod account;
mod balance;
mod billing;
mod me;
mod plans;
mod real_name;
mod regions;
mod services;

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::AppState;
pub use crate::middleware::errors::Problem;
use lantian_core::Error;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lantian API",
        version = "1",
        description = "The JSON API of Lantian (蓝天云). Errors are RFC 9457 problem documents (application/problem+json)."
    ),
    paths(regions::list, me::me, account::token, account::patch_me, account::list_sessions, account::end_session,
        plans::list, billing::place_order, billing::list_invoices, billing::invoice, billing::pay, billing::cancel, balance::balance,
        real_name::status, real_name::submit, real_name::upload_guardian_consent,
        services::list, services::one, services::power, services::renew),
    components(schemas(regions::RegionOut, regions::RegionPage, me::Me, me::Account, account::TokenRequest, account::TokenResponse, account::ProfilePatch, account::SessionOut, Problem,
        plans::PlanList, plans::PlanOut, plans::PriceOut, plans::StockOut,
        billing::OrderRequest, billing::OrderItem, billing::LineOut, billing::OrderPlaced, billing::InvoiceOut, billing::InvoicePage, billing::InvoiceDetail,
        billing::PaymentOut, billing::PaymentRequest, billing::PaymentStarted, billing::InvoiceState,
        balance::LedgerOut, balance::BalanceOut,
        real_name::RealNameStatus, real_name::GuardianOut, real_name::GuardianConsentOut, real_name::RealNameRequest,
        real_name::RealNameSubmitted, real_name::GuardianConsentForm, real_name::GuardianConsentFiled,
        services::ServiceOut, services::ServiceList, services::PowerRequest, services::PowerAccepted, services::Renewal)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The calling customer, whose token has `scope`. Staff tokens are refused: these are a
/// customer's own records (staff use the console).
pub(super) fn customer(
    c: &me::ApiCaller,
    scope: lantian_core::apitokens::Scope,
) -> Result<i64, crate::error::WebError> {
    match c.0.subject.kind {
        lantian_core::authz::SubjectKind::Customer if c.0.allows(scope) => Ok(c.0.subject.id),
        _ => Err(crate::error::WebError(Error::Forbidden)),
    }
}

/// Declares the bearer scheme: personal access tokens (`lt_...`) made in the account or console.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/regions", get(regions::list))
        .route("/me", get(me::me).patch(account::patch_me))
        .route("/me/sessions", get(account::list_sessions))
        .route("/me/sessions/{id}", axum::routing::delete(account::end_session))
        .route("/auth/token", axum::routing::post(account::token))
        .route("/catalog/plans", get(plans::list))
        .route("/orders", axum::routing::post(billing::place_order))
        .route("/invoices", get(billing::list_invoices))
        .route("/invoices/{id}", get(billing::invoice))
        .route("/invoices/{id}/payments", axum::routing::post(billing::pay))
        .route("/invoices/{id}/cancel", axum::routing::post(billing::cancel))
        .route("/balance", get(balance::balance))
        .route("/real-name", get(real_name::status).post(real_name::submit))
        .merge(services::routes())
}

/// The routes that take a document, served with the upload limit instead of the usual one
/// (see `app::uploads`).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/real-name/guardian-consent", axum::routing::post(real_name::upload_guardian_consent))
}

/// The paging parameters every list endpoint takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 20).
    limit: Option<i64>,
    /// Return items after this id (the `next_after` of the previous page).
    after: Option<i64>,
}

impl PageQuery {
    /// (after, limit), checked.
    pub fn checked(&self) -> Result<(i64, i64), Error> {
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit", "limit"));
        }
        let after = self.after.unwrap_or(0);
        if after < 0 {
            return Err(Error::validation("after", "cursor"));
        }
        Ok((after, limit))
    }
}
