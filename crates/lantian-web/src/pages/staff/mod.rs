//! The staff console: sign-in with a second factor, then what each role may see and do.

mod access_log;
mod audit;
mod billing;
mod catalog;
mod console;
mod jobs;
mod kyc;
mod login;
mod profile;
mod services;
mod team;
mod tokens;

use axum::Router;
use axum::routing::{get, post};
use lantian_core::authz::Permission;
use lantian_core::notify;

use super::{Area, Layout};
use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(console::overview))
        .route("/staff/notices", get(console::notices))
        .route("/staff/login", get(login::form).post(login::submit))
        .route("/staff/login/second-factor", get(login::second_factor).post(login::second_factor_submit))
        .route("/staff/password", get(login::password_form).post(login::password_submit))
        .route("/staff/logout", post(login::logout))
        .route("/staff/team", get(team::list).post(team::create))
        .route("/staff/team/{id}/reveal", post(team::reveal))
        .route("/staff/team/{id}/deactivate", post(team::deactivate))
        .route("/staff/audit", get(audit::list))
        .route("/staff/access-log", get(access_log::list))
        .route("/staff/jobs", get(jobs::list))
        .route("/staff/jobs/{id}/retry", post(jobs::retry))
        .route("/staff/tokens", get(tokens::list).post(tokens::create))
        .route("/staff/profile", get(profile::show).post(profile::save))
        .route("/staff/tokens/{id}/revoke", post(tokens::revoke))
        .route("/staff/invoices", get(billing::invoices))
        .route("/staff/invoices/{id}", get(billing::invoice))
        .route("/staff/invoices/{id}/refund", post(billing::refund_to_balance))
        .route("/staff/invoices/{id}/payments/{payment}/refund", post(billing::refund_via_gateway))
        .route("/staff/callbacks", get(billing::callbacks))
        .route("/staff/balance", get(billing::balance).post(billing::adjust))
        .route("/staff/catalog", get(catalog::show))
        .route("/staff/catalog/plans", post(catalog::save_plan))
        .route("/staff/catalog/plans/{id}/price", post(catalog::set_price))
        .route("/staff/catalog/plans/{id}/stock", post(catalog::set_stock))
        .route("/staff/catalog/coupons", post(catalog::create_coupon))
        .route("/staff/real-names", get(kyc::records))
        .route("/staff/real-names/{id}", get(kyc::record))
        .route("/staff/real-names/{id}/reveal", post(kyc::reveal))
        .route("/staff/real-names/{id}/revoke", post(kyc::revoke))
        .route("/staff/real-names/{id}/correct", post(kyc::correct))
        .route("/staff/real-names/{id}/child-found", post(kyc::child_found))
        .route("/staff/guardian-consents", get(kyc::guardian::pending))
        .route("/staff/guardian-consents/{id}/document", post(kyc::guardian::document))
        .route("/staff/guardian-consents/{id}/approve", post(kyc::guardian::approve))
        .route("/staff/guardian-consents/{id}/reject", post(kyc::guardian::reject))
        .merge(services::routes())
}

/// The console's navigation: only what the member's roles allow.
pub struct StaffNav {
    pub name: String,
    pub can_team: bool,
    pub can_audit: bool,
    pub can_access_log: bool,
    pub can_jobs: bool,
    /// Invoices, refunds, callbacks and balances.
    pub can_billing: bool,
    /// Plans, prices, stock and coupons.
    pub can_catalog: bool,
    /// Real-name records and guardians' consents.
    pub can_compliance: bool,
    /// The provisioning queue and customers' services.
    pub can_services: bool,
    pub unread: i64,
    pub csrf: String,
}

/// The layout of a console page for a signed-in member.
/// The query of a page shown after an action: which one was done, for its notice.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    pub done: String,
}

/// A console list's filter by state: the chosen state when it is one of `states` (an unknown
/// one in a hand-made link lists them all, as the empty choice does), and the choices for the
/// page as (value, label, chosen), labelled by the translation `{label_prefix}{value}`.
pub fn state_filter(
    states: &[&'static str],
    chosen: &str,
    label_prefix: &str,
    t: &lantian_core::i18n::Tr,
) -> (Option<&'static str>, Vec<(&'static str, String, bool)>) {
    let filter = states.iter().copied().find(|v| *v == chosen);
    let choices = states.iter().map(|v| (*v, t.t(&format!("{label_prefix}{v}")), Some(*v) == filter)).collect();
    (filter, choices)
}

pub async fn layout(state: &AppState, ctx: &RequestContext, staff: &StaffCtx, path: &str) -> Result<Layout, WebError> {
    let (_, unread) = notify::notices(&state.core, staff.subject(), 0).await?;
    let p = &staff.principal;
    let nav = StaffNav {
        name: staff.member.display_name.clone(),
        can_team: p.can(Permission::StaffManage),
        can_audit: p.can(Permission::AuditRead),
        can_access_log: p.can(Permission::AccessLogRead),
        can_jobs: p.can(Permission::JobsManage),
        can_billing: p.can(Permission::BillingManage),
        can_catalog: p.can(Permission::CatalogManage),
        can_compliance: p.can(Permission::ComplianceManage),
        can_services: p.can(Permission::ServicesManage),
        unread,
        csrf: staff.session.csrf_secret.clone(),
    };
    let mut l = Layout::from_ctx(ctx, path, Area::Staff);
    l.staff = Some(nav);
    Ok(l)
}
