//! One server's page: where it is, what it is, when it expires and what happens then; power
//! actions, renewal, and the first-login password, shown on request until the customer says
//! they saved it. The buttons offered follow the server's state, and the core refuses what the
//! state does not allow all the same (a stale page, a second tab).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::i18n::Tr;
use lantian_core::provisioning::{self, portal};
use lantian_core::{Error, sessions};
use serde::Deserialize;

use super::{ServiceView, service_id};
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Area, Layout, refused, render};

#[derive(Template)]
#[template(path = "services/detail.html")]
struct DetailPage<'a> {
    t: Tr,
    l: Layout,
    s: ServiceView,
    /// Start, stop and reboot are offered: the server runs, should run, and nothing is under way.
    can_power: bool,
    /// What is under way (a power action asked for, or an operation at the upstream), in words.
    pending: Option<String>,
    /// Something is changing: the page reloads itself until it is done.
    working: bool,
    can_renew: bool,
    /// The renewal invoice issued and not yet paid.
    renewal_invoice: Option<i64>,
    /// When the renewal invoice comes and what happens after expiry, with the configured days.
    lifecycle: String,
    /// The first-login password is held and can be shown.
    password_held: bool,
    /// The password, on the answer to "show" only.
    password: Option<&'a str>,
    notice: Option<String>,
    error: Option<String>,
}

/// What the page says besides the service.
#[derive(Default)]
struct Notes<'a> {
    notice: Option<String>,
    error: Option<String>,
    password: Option<&'a str>,
}

/// "7 days", "1 day".
fn days(t: &Tr, n: u32) -> String {
    if n == 1 { t.t("services-one-day") } else { t.t1("services-days", "n", n) }
}

async fn page(
    state: &AppState,
    ctx: &RequestContext,
    customer_id: i64,
    id: i64,
    n: Notes<'_>,
) -> Result<Response, WebError> {
    let core = &state.core;
    let t = Tr::new(ctx.lang);
    let now = core.now();
    let s = provisioning::service_of(core, customer_id, id).await?;
    let lc = &core.config.lifecycle;
    let periods = [
        ("invoice".to_string(), days(&t, lc.invoice_days_before)),
        ("suspend".to_string(), days(&t, lc.suspend_after_days)),
        ("terminate".to_string(), days(&t, lc.terminate_after_days)),
    ];
    let pending = match (s.power_request.as_deref(), s.busy) {
        (Some(action), _) => Some(t.t(&format!("services-pending-{action}"))),
        (None, true) => Some(t.t("services-pending-busy")),
        (None, false) => None,
    };
    // A service waiting for staff, or gone, changes only when someone acts: no reloading.
    let settled = matches!(s.state.as_str(), "needs_attention" | "terminated");
    let live = matches!(s.state.as_str(), "active" | "suspended") && s.desired != "terminated";
    let error = n.error.is_some();
    let page = DetailPage {
        can_power: s.state == "active" && s.desired == "active" && pending.is_none(),
        working: pending.is_some() || (s.state != s.desired && !settled),
        pending,
        can_renew: live || s.renewal_invoice_id.is_some(),
        renewal_invoice: s.renewal_invoice_id,
        lifecycle: t.t_args("services-lifecycle", &periods.into()),
        // The core reveals the password of a running server only.
        password_held: s.has_password && s.state == "active",
        password: n.password,
        notice: n.notice,
        error: n.error,
        s: ServiceView::new(&s, &t, ctx.lang, &core.config.business.time_zone, now),
        l: Layout::from_ctx(ctx, &format!("/account/services/{id}"), Area::Portal),
        t,
    };
    let mut res = render(&page);
    // The password may be on it, and the state changes: never from the browser's cache.
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(if error { refused(res) } else { res })
}

/// The page again with a refused action's message, answered 422; anything but refused input
/// stays an error page.
async fn refusal(
    state: &AppState,
    ctx: &RequestContext,
    c: &CustomerCtx,
    id: i64,
    e: Error,
) -> Result<Response, WebError> {
    let Error::Validation { code, .. } = e else { return Err(e.into()) };
    let error = Some(Tr::new(ctx.lang).t(&format!("invalid-{code}")));
    page(state, ctx, c.customer.id, id, Notes { error, ..Notes::default() }).await
}

/// Back to the page with a one-time message (post/redirect/get: a reload repeats nothing).
async fn done(state: &AppState, c: &CustomerCtx, id: i64, message_key: &str) -> Result<Response, WebError> {
    sessions::set_flash(&state.core, c.session.id, message_key).await?;
    Ok(Redirect::to(&format!("/account/services/{id}")).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id = service_id(&raw)?;
    let t = Tr::new(ctx.lang);
    let notice = sessions::take_flash(&state.core, &c.session).await?.map(|k| t.t(&k));
    page(&state, &ctx, c.customer.id, id, Notes { notice, ..Notes::default() }).await
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PowerForm {
    /// `start`, `stop` or `reboot`: the button pressed.
    action: String,
}

/// Asks for a power action; the page then shows it under way until the job has done it.
pub async fn power(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Path(raw): Path<String>,
    Form(f): Form<PowerForm>,
) -> Result<Response, WebError> {
    let id = service_id(&raw)?;
    match portal::power(&state.core, c.customer.id, id, &f.action, state.core.now()).await {
        Ok(()) => done(&state, &c, id, "services-flash-power").await,
        Err(e) => refusal(&state, &ctx, &c, id, e).await,
    }
}

/// Goes to the renewal invoice (the one issued, or a new one), where it is paid as any other.
pub async fn renew(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id = service_id(&raw)?;
    match portal::renew(&state.core, c.customer.id, id, state.core.now()).await {
        Ok(invoice) => Ok(Redirect::to(&format!("/account/invoices/{invoice}")).into_response()),
        Err(e) => refusal(&state, &ctx, &c, id, e).await,
    }
}

/// The first-login password, on this answer only (a POST, so it is never in a link or the
/// history); gone already, the page says so.
pub async fn reveal_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id = service_id(&raw)?;
    // Held in memory that is wiped when dropped; only the page's own body holds a copy.
    let Some(password) = portal::first_login_password(&state.core, c.customer.id, id).await? else {
        // No password is also what another customer's server has: that one is not found.
        provisioning::service_of(&state.core, c.customer.id, id).await?;
        return done(&state, &c, id, "services-flash-password-gone").await;
    };
    let notes = Notes { password: Some(password.as_str()), ..Notes::default() };
    page(&state, &ctx, c.customer.id, id, notes).await
}

/// "I saved it": the password is deleted for good.
pub async fn forget_password(
    State(state): State<AppState>,
    c: CustomerCtx,
    Path(raw): Path<String>,
) -> Result<Response, WebError> {
    let id = service_id(&raw)?;
    portal::forget_password(&state.core, c.customer.id, id).await?;
    done(&state, &c, id, "services-flash-password-forgotten").await
}
