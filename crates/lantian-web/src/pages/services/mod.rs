//! The customer's servers (我的服务器): the list, and one server's page with its state in plain
//! words, power actions, renewal and the first-login password (`detail`). Another customer's
//! server, like one that does not exist, is "not found".

mod detail;

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use lantian_core::i18n::{Lang, Tr};
use lantian_core::provisioning::{self, Service};
use lantian_core::{Error, UnixMs};

use super::billing::pick;
use super::{Area, Layout, format_time, render};
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/services", get(list))
        .route("/account/services/{id}", get(detail::show))
        .route("/account/services/{id}/power", post(detail::power))
        .route("/account/services/{id}/renew", post(detail::renew))
        .route("/account/services/{id}/password", post(detail::reveal_password))
        .route("/account/services/{id}/password/forget", post(detail::forget_password))
}

/// The id in a service's address. Anything that is not a number names no service: "not found",
/// as for an id that does not exist or is another customer's.
fn service_id(raw: &str) -> Result<i64, Error> {
    raw.parse().map_err(|_| Error::NotFound)
}

/// The translation key of where a service is, in the customer's words. What it should be
/// matters as much as what it is: a server the job is taking somewhere is "on its way".
fn state_key(s: &Service, now: UnixMs) -> &'static str {
    match (s.state.as_str(), s.desired.as_str()) {
        ("terminated", _) => "services-state-terminated",
        (_, "terminated") => "services-state-terminating",
        ("pending" | "provisioning", _) => "services-state-creating",
        ("needs_attention", _) => "services-state-attention",
        ("active", "suspended") => "services-state-suspending",
        ("suspended", "active") => "services-state-resuming",
        // Past its expiry, a suspension is for the unpaid renewal; before it, staff suspended
        // the server for another reason and the customer should ask them.
        ("suspended", _) if s.expires_at.is_some_and(|e| e <= now) => "services-state-suspended-unpaid",
        ("suspended", _) => "services-state-suspended",
        _ => "services-state-running",
    }
}

/// A service as the pages show it.
pub struct ServiceView {
    pub id: i64,
    pub name: String,
    pub plan: String,
    pub region: String,
    pub os_image: String,
    pub months: i64,
    /// `pending`, `provisioning`, `active`, `suspended`, `terminated` or `needs_attention`.
    pub state: String,
    pub state_label: String,
    /// Not running as bought: the label is drawn as a warning.
    pub warn: bool,
    pub ip: String,
    pub created: String,
    pub activated: String,
    pub expires: String,
}

impl ServiceView {
    pub fn new(s: &Service, t: &Tr, lang: Lang, tz: &str, now: UnixMs) -> ServiceView {
        let time = |at: Option<UnixMs>| at.map(|at| format_time(tz, at)).unwrap_or_default();
        let key = state_key(s, now);
        ServiceView {
            id: s.id,
            name: s.name(),
            plan: pick(lang, &s.plan_zh, &s.plan_en),
            region: pick(lang, &s.region_zh, &s.region_en),
            os_image: s.os_image.clone(),
            months: s.months,
            state: s.state.clone(),
            state_label: t.t(key),
            warn: key != "services-state-running",
            ip: s.ip.clone().unwrap_or_default(),
            created: format_time(tz, s.created_at),
            activated: time(s.activated_at),
            expires: time(s.expires_at),
        }
    }
}

#[derive(Template)]
#[template(path = "services/list.html")]
struct ListPage {
    t: Tr,
    l: Layout,
    services: Vec<ServiceView>,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let (tz, now) = (&state.core.config.business.time_zone, state.core.now());
    let rows = provisioning::services_of(&state.core, c.customer.id).await?;
    let services = rows.iter().map(|s| ServiceView::new(s, &t, ctx.lang, tz, now)).collect();
    Ok(render(&ListPage { l: Layout::from_ctx(&ctx, "/account/services", Area::Portal), t, services }))
}
