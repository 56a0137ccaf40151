//! Staff sign-in: password, then the second factor (enrolled at the first sign-in), then a
//! new password if the current one was a one-time password.

use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use http::header;
use lantian_core::authz::Subject;
use lantian_core::ratelimit::{self, Decision};
use lantian_core::sessions::{self, Stage};
use lantian_core::staff::SecondFactor;
use lantian_core::{Error, staff, totp};
use serde::Deserialize;

use crate::AppState;
use crate::auth::CsrfForm;
use crate::auth::{Meta, PendingStaff, StaffCtx, clear_session_cookie, redirect_with_session};
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::middleware::access_log::LogSlot;
use crate::pages::{Area, Layout, render};
use lantian_core::accesslog::AccessEvent;
use lantian_core::i18n::Tr;

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage {
    t: Tr,
    l: Layout,
    username: String,
    error: Option<String>,
}

pub async fn form(Extension(ctx): Extension<RequestContext>) -> Response {
    let l = Layout::from_ctx(&ctx, "/staff/login", Area::Staff);
    render(&LoginPage { t: Tr::new(ctx.lang), l, username: String::new(), error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// Refuses when this address or this username tried too often; the answer does not say which.
async fn throttled(state: &AppState, ip: &str, username: &str) -> Result<Option<Duration>, WebError> {
    let now = state.core.now();
    for (key, window, limit) in [
        (format!("staff-login:ip:{ip}"), Duration::from_secs(600), 20),
        (format!("staff-login:user:{username}"), Duration::from_secs(900), 10),
    ] {
        if let Decision::RetryAfter(d) = ratelimit::hit(&state.core.db, &key, window, limit, now).await? {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Meta(m): Meta,
    slot: LogSlot,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let username = f.username.trim().to_lowercase();
    if let Some(wait) = throttled(&state, &ctx.client_ip.to_string(), &username).await? {
        return Err(WebError(Error::RateLimited { retry_after: wait }));
    }
    let Some(member) = staff::check_password(&state.core, &username, &f.password).await? else {
        tracing::info!("staff sign-in refused: wrong username or password");
        // The log names the account tried, when there is one; the page does not.
        let tried = staff::id_of_username(&state.core, &username).await?.map(Subject::staff);
        slot.set_event(tried, AccessEvent::SignInFailed);
        let l = Layout::from_ctx(&ctx, "/staff/login", Area::Staff);
        let page =
            LoginPage { t, l, username: f.username.chars().take(64).collect(), error: Some(t.t("staff-login-wrong")) };
        let mut res = render(&page);
        *res.status_mut() = http::StatusCode::UNAUTHORIZED;
        res.extensions_mut().insert(crate::middleware::errors::Rendered);
        return Ok(res);
    };
    let now = state.core.now();
    // Half-way: the sign-in event is logged when the second factor completes it.
    slot.set_subject(Subject::staff(member.id));
    let (token, _) = sessions::start(&state.core, Subject::staff(member.id), Stage::Password, &m, now).await?;
    Ok(redirect_with_session(&state, "/staff/login/second-factor", &token))
}

#[derive(Template)]
#[template(path = "staff/second_factor.html")]
struct SecondFactorPage {
    t: Tr,
    l: Layout,
    csrf: String,
    /// Present while enrolling: the QR code and the secret.
    enrol: Option<totp::Enrolment>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/recovery_codes.html")]
struct RecoveryCodesPage {
    t: Tr,
    l: Layout,
    codes: Vec<String>,
}

async fn second_factor_page(
    state: &AppState,
    ctx: &RequestContext,
    p: &PendingStaff,
    error: Option<String>,
) -> Result<Response, WebError> {
    let subject = Subject::staff(p.member.id);
    let enrol = if totp::is_enabled(&state.core, subject).await? {
        None
    } else {
        let account = format!("{}@lantian", p.member.username);
        match totp::pending(&state.core, subject, &account).await? {
            Some(e) => Some(e),
            None => Some(totp::begin(&state.core, subject, &account, state.core.now()).await?),
        }
    };
    let l = Layout::from_ctx(ctx, "/staff/login/second-factor", Area::Staff);
    let page = SecondFactorPage { t: Tr::new(ctx.lang), l, csrf: p.session.csrf_secret.clone(), enrol, error };
    let mut res = render(&page);
    res.extensions_mut().insert(crate::middleware::errors::Rendered);
    Ok(res)
}

pub async fn second_factor(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    p: PendingStaff,
) -> Result<Response, WebError> {
    second_factor_page(&state, &ctx, &p, None).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
    csrf: String,
}

pub async fn second_factor_submit(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    p: PendingStaff,
    slot: LogSlot,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    p.check_csrf(&f.csrf)?;
    let core = &state.core;
    let now = core.now();
    let key = format!("staff-2fa:{}", p.session.id);
    if let Decision::RetryAfter(wait) = ratelimit::hit(&core.db, &key, Duration::from_secs(300), 10, now).await? {
        return Err(WebError(Error::RateLimited { retry_after: wait }));
    }
    let t = Tr::new(ctx.lang);
    let outcome = staff::second_factor(core, &p.session, &f.code, &p.meta).await?;
    // Signed in only now, with both factors; a wrong code is a failed sign-in.
    let event = if matches!(outcome, SecondFactor::Wrong) { AccessEvent::SignInFailed } else { AccessEvent::SignIn };
    slot.set_event(Some(Subject::staff(p.member.id)), event);
    match outcome {
        SecondFactor::Wrong => second_factor_page(&state, &ctx, &p, Some(t.t("totp-wrong"))).await,
        SecondFactor::SignedIn { token } => Ok(redirect_with_session(&state, "/staff", &token)),
        SecondFactor::Enrolled { token, recovery_codes } => {
            let l = Layout::from_ctx(&ctx, "/staff/login/second-factor", Area::Staff);
            let mut res = render(&RecoveryCodesPage { t, l, codes: recovery_codes });
            res.headers_mut().insert(header::SET_COOKIE, crate::auth::set_session_cookie(&state, &token));
            res.headers_mut().insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
            Ok(res)
        }
    }
}

#[derive(Template)]
#[template(path = "staff/password.html")]
struct PasswordPage {
    t: Tr,
    l: Layout,
    forced: bool,
    error: Option<String>,
}

pub async fn password_form(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    let l = super::layout(&state, &ctx, &s, "/staff/password").await?;
    Ok(render(&PasswordPage { t: Tr::new(ctx.lang), l, forced: s.member.must_change_password, error: None }))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
    confirm: String,
    csrf: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Form(f): Form<PasswordForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    let t = Tr::new(ctx.lang);
    let result = if f.password != f.confirm {
        Err(Error::validation("password", "password-mismatch"))
    } else {
        staff::change_password(&state.core, s.member.id, &f.password, &s.meta).await
    };
    match result {
        Ok(()) => {
            sessions::set_flash(&state.core, s.session.id, "flash-password-changed").await?;
            Ok(Redirect::to("/staff").into_response())
        }
        Err(Error::Validation { code, .. }) => {
            let l = super::layout(&state, &ctx, &s, "/staff/password").await?;
            let page = PasswordPage {
                t,
                l,
                forced: s.member.must_change_password,
                error: Some(t.t(&format!("invalid-{code}"))),
            };
            Ok(crate::pages::refused(render(&page)))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    s: StaffCtx,
    slot: LogSlot,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    sessions::end(&state.core, s.session.id, "signed out", state.core.now()).await?;
    slot.set_event(Some(s.subject()), AccessEvent::SignOut);
    let mut res = Redirect::to("/staff/login").into_response();
    res.headers_mut().insert(header::SET_COOKIE, clear_session_cookie(&state));
    Ok(res)
}
