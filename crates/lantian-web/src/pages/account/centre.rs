//! The account centre's home: the account, its devices and sessions, and sign-in history.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use lantian_core::i18n::Tr;
use lantian_core::sessions;
use lantian_core::{Error, accounts};

use super::{Area, Layout, render};
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::format_time;

pub struct Device {
    pub id: i64,
    pub what: String,
    pub ip: String,
    pub since: String,
    pub last_seen: String,
    pub current: bool,
}

/// One sign-in or failed attempt on the account.
pub struct Attempt {
    pub at: String,
    pub ip: String,
    pub device: String,
    pub ok: bool,
}

#[derive(Template)]
#[template(path = "account/overview.html")]
struct Overview {
    history: Vec<Attempt>,
    t: Tr,
    l: Layout,
    username: String,
    email: String,
    verified: bool,
    minor: bool,
    devices: Vec<Device>,
}

pub async fn overview(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
) -> Result<Response, WebError> {
    let now = state.core.now();
    let tz = &state.core.config.business.time_zone;
    let unknown = Tr::new(ctx.lang).t("device-unknown");
    let devices = sessions::list_live(&state.core, c.subject(), now)
        .await?
        .into_iter()
        .map(|s| Device {
            id: s.id,
            what: match (&s.browser, &s.os) {
                (Some(b), Some(o)) => format!("{b} · {o}"),
                _ => unknown.clone(),
            },
            ip: s.ip.clone().unwrap_or_default(),
            since: format_time(tz, s.created_at),
            last_seen: format_time(tz, s.last_seen_at),
            current: s.id == c.session.id,
        })
        .collect();
    let history = lantian_core::accesslog::login_history(&state.core.db, c.subject(), 20)
        .await?
        .into_iter()
        .map(|r| Attempt {
            at: format_time(tz, r.at),
            ip: r.ip,
            device: [r.browser, r.os].into_iter().flatten().collect::<Vec<_>>().join(" · "),
            ok: r.event == "sign_in",
        })
        .collect();
    let l = Layout::from_ctx(&ctx, "/account", Area::Portal);
    let page = Overview {
        history,
        t: Tr::new(ctx.lang),
        l,
        username: c.customer.username.clone(),
        email: c.customer.email.clone(),
        verified: c.customer.email_verified_at.is_some(),
        minor: c.customer.age_bracket == "minor",
        devices,
    };
    let mut res = render(&page);
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn resend_verification(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
) -> Result<Response, WebError> {
    if c.customer.email_verified_at.is_some() {
        return Ok(Redirect::to("/account").into_response());
    }
    accounts::send_verification(&state.core, c.customer.id).await?;
    Ok(super::message(&ctx, "register-done-title", "verification-resent", Some(("/account", "nav-account"))))
}

/// Ends one of the customer's own sessions (another device).
pub async fn end_session(
    State(state): State<AppState>,
    c: CustomerCtx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let now = state.core.now();
    let own = sessions::list_live(&state.core, c.subject(), now).await?.iter().any(|s| s.id == id);
    if !own {
        return Err(WebError(Error::NotFound));
    }
    sessions::end(&state.core, id, "ended by the owner", now).await?;
    Ok(Redirect::to("/account").into_response())
}

/// Signs out everywhere else: every other session and every remembered device.
pub async fn end_all_sessions(State(state): State<AppState>, c: CustomerCtx) -> Result<Response, WebError> {
    let now = state.core.now();
    for s in sessions::list_live(&state.core, c.subject(), now).await? {
        if s.id != c.session.id {
            sessions::end(&state.core, s.id, "ended by the owner", now).await?;
        }
    }
    accounts::revoke_remember_tokens(&state.core, c.customer.id, now).await?;
    Ok(Redirect::to("/account").into_response())
}
