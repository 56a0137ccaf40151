//! Sign-up, sign-in and sign-out, and the pages the e-mailed links open.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use http::header::SET_COOKIE;
use lantian_core::accesslog::AccessEvent;
use lantian_core::accounts::{self, AgeBracket, NewCustomer, Registered, SignIn};
use lantian_core::authz::Subject;
use lantian_core::i18n::Tr;
use lantian_core::{Error, sessions};
use serde::Deserialize;

use super::{Area, Layout, message, refused, render};
use crate::AppState;
use crate::auth::{Meta, PendingCustomer, clear_session_cookie, redirect_with_session, remember_cookie};
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::middleware::access_log::LogSlot;

/// A field's error, shown next to it.
pub struct FieldError {
    pub field: &'static str,
    pub text: String,
}

impl FieldError {
    fn of(t: &Tr, e: &Error) -> Option<FieldError> {
        match e {
            Error::Validation { field, code } => Some(FieldError { field, text: t.t(&format!("invalid-{code}")) }),
            Error::Conflict(_) => Some(FieldError { field: "username", text: t.t("register-taken") }),
            _ => None,
        }
    }
}

#[derive(Template)]
#[template(path = "account/register.html")]
struct RegisterPage {
    t: Tr,
    l: Layout,
    username: String,
    email: String,
    error: Option<FieldError>,
}

impl RegisterPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|e| e.field == field).map(|e| e.text.as_str())
    }
}

pub async fn register_form(Extension(ctx): Extension<RequestContext>) -> Response {
    let l = Layout::from_ctx(&ctx, "/register", Area::Portal);
    render(&RegisterPage { t: Tr::new(ctx.lang), l, username: String::new(), email: String::new(), error: None })
}

#[derive(Deserialize)]
pub struct RegisterForm {
    username: String,
    email: String,
    password: String,
    age: AgeBracket,
    #[serde(default)]
    accept: Option<String>,
}

pub async fn register(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Meta(m): Meta,
    Form(f): Form<RegisterForm>,
) -> Result<Response, WebError> {
    // A flood of sign-ups from one address is throttled.
    let key = format!("register:ip:{}", ctx.client_ip);
    let window = std::time::Duration::from_secs(3600);
    if let lantian_core::ratelimit::Decision::RetryAfter(d) =
        lantian_core::ratelimit::hit(&state.core.db, &key, window, 10, state.core.now()).await?
    {
        return Err(WebError(Error::RateLimited { retry_after: d }));
    }
    let t = Tr::new(ctx.lang);
    let input = NewCustomer {
        username: &f.username,
        email: &f.email,
        password: &f.password,
        age: f.age,
        accepted_policy: f.accept.is_some(),
        lang: ctx.lang,
    };
    match accounts::register(&state.core, input, &m).await {
        Ok(Registered::Created { .. }) => {
            Ok(message(&ctx, "register-done-title", "register-done", Some(("/login", "nav-sign-in"))))
        }
        Ok(Registered::TooYoung) => {
            Ok(message(&ctx, "register-too-young-title", "register-too-young", Some(("/", "error-home-link"))))
        }
        Err(e) => match FieldError::of(&t, &e) {
            Some(error) => {
                let l = Layout::from_ctx(&ctx, "/register", Area::Portal);
                let username: String = f.username.chars().take(32).collect();
                let email: String = f.email.chars().take(254).collect();
                Ok(refused(render(&RegisterPage { t, l, username, email, error: Some(error) })))
            }
            None => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn verify_email(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, WebError> {
    match accounts::verify_email(&state.core, &q.token).await {
        Ok(_) => Ok(message(&ctx, "verified-title", "verified", Some(("/account", "nav-account")))),
        Err(Error::Validation { .. }) => {
            Ok(refused(message(&ctx, "link-title", "invalid-link-invalid", Some(("/account", "nav-account")))))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    t: Tr,
    l: Layout,
    login: String,
    error: Option<String>,
}

pub async fn login_form(Extension(ctx): Extension<RequestContext>) -> Response {
    let l = Layout::from_ctx(&ctx, "/login", Area::Portal);
    render(&LoginPage { t: Tr::new(ctx.lang), l, login: String::new(), error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    remember: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Meta(m): Meta,
    slot: LogSlot,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let again = |error: String, status| {
        let l = Layout::from_ctx(&ctx, "/login", Area::Portal);
        let mut res = render(&LoginPage { t, l, login: f.login.chars().take(254).collect(), error: Some(error) });
        *res.status_mut() = status;
        res.extensions_mut().insert(crate::middleware::errors::Rendered);
        res
    };
    match accounts::sign_in(&state.core, &f.login, &f.password, &m).await? {
        SignIn::Wrong { account } => {
            slot.set_event(account.map(Subject::customer), AccessEvent::SignInFailed);
            Ok(again(t.t("login-wrong"), http::StatusCode::UNAUTHORIZED))
        }
        SignIn::Throttled(wait) => {
            let mut res = again(
                t.t1("login-throttled", "minutes", wait.as_secs().div_ceil(60)),
                http::StatusCode::TOO_MANY_REQUESTS,
            );
            if let Ok(v) = http::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                res.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            Ok(res)
        }
        SignIn::Started { customer_id, token, needs_second_factor } => {
            if !needs_second_factor {
                slot.set_event(Some(Subject::customer(customer_id)), AccessEvent::SignIn);
            }
            let to = if needs_second_factor { "/login/second-factor" } else { "/account" };
            let mut res = redirect_with_session(&state, to, &token);
            adopt_account_language(&state, &mut res, &ctx, customer_id).await?;
            if f.remember.is_some() && !needs_second_factor {
                let remember = accounts::issue_remember_token(&state.core, customer_id, state.core.now()).await?;
                res.headers_mut().append(SET_COOKIE, remember_cookie(&state, Some(&remember)));
            }
            Ok(res)
        }
    }
}

/// After a sign-in, the pages follow the account's own language setting.
async fn adopt_account_language(
    state: &AppState,
    res: &mut Response,
    ctx: &RequestContext,
    id: i64,
) -> Result<(), WebError> {
    let c = accounts::get(&state.core, id).await?;
    if let Some(lang) = lantian_core::i18n::Lang::from_code(&c.lang) {
        crate::pages::preferences::adopt_language(state, res, ctx.prefs, lang);
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "account/second_factor.html")]
struct SecondFactorPage {
    t: Tr,
    l: Layout,
    error: Option<String>,
}

pub async fn second_factor_form(Extension(ctx): Extension<RequestContext>, _p: PendingCustomer) -> Response {
    let l = Layout::from_ctx(&ctx, "/login/second-factor", Area::Portal);
    render(&SecondFactorPage { t: Tr::new(ctx.lang), l, error: None })
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn second_factor(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    p: PendingCustomer,
    slot: LogSlot,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let key = format!("customer-2fa:{}", p.session.id);
    let window = std::time::Duration::from_secs(300);
    if let lantian_core::ratelimit::Decision::RetryAfter(d) =
        lantian_core::ratelimit::hit(&state.core.db, &key, window, 10, state.core.now()).await?
    {
        return Err(WebError(Error::RateLimited { retry_after: d }));
    }
    match accounts::second_factor(&state.core, &p.session, &f.code).await? {
        Some(token) => {
            slot.set_event(p.session.subject(), AccessEvent::SignIn);
            let mut res = redirect_with_session(&state, "/account", &token);
            adopt_account_language(&state, &mut res, &ctx, p.session.subject_id).await?;
            Ok(res)
        }
        None => {
            slot.set_event(p.session.subject(), AccessEvent::SignInFailed);
            let t = Tr::new(ctx.lang);
            let l = Layout::from_ctx(&ctx, "/login/second-factor", Area::Portal);
            Ok(refused(render(&SecondFactorPage { error: Some(t.t("totp-wrong")), t, l })))
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    slot: LogSlot,
    headers: http::HeaderMap,
) -> Result<Response, WebError> {
    if let Some(token) = crate::auth::cookie(&headers, state.web.session_cookie)
        && let Some(s) = sessions::lookup(&state.core, token, state.core.now()).await?
    {
        slot.set_event(s.subject(), AccessEvent::SignOut);
        sessions::end(&state.core, s.id, "signed out", state.core.now()).await?;
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(SET_COOKIE, clear_session_cookie(&state));
    res.headers_mut().append(SET_COOKIE, remember_cookie(&state, None));
    Ok(res)
}

#[derive(Template)]
#[template(path = "account/forgot.html")]
struct ForgotPage {
    t: Tr,
    l: Layout,
    error: Option<String>,
}

pub async fn forgot_form(Extension(ctx): Extension<RequestContext>) -> Response {
    render(&ForgotPage {
        t: Tr::new(ctx.lang),
        l: Layout::from_ctx(&ctx, "/forgot-password", Area::Portal),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Meta(m): Meta,
    Form(f): Form<ForgotForm>,
) -> Result<Response, WebError> {
    match accounts::request_password_reset(&state.core, &f.email, &m).await {
        // The same answer whether or not the address has an account.
        Ok(()) => Ok(message(&ctx, "forgot-sent-title", "forgot-sent", Some(("/login", "nav-sign-in")))),
        Err(Error::Validation { code, .. }) => {
            let t = Tr::new(ctx.lang);
            let l = Layout::from_ctx(&ctx, "/forgot-password", Area::Portal);
            Ok(refused(render(&ForgotPage { error: Some(t.t(&format!("invalid-{code}"))), t, l })))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "account/reset.html")]
struct ResetPage {
    t: Tr,
    l: Layout,
    token: String,
    error: Option<String>,
}

pub async fn reset_form(Extension(ctx): Extension<RequestContext>, Query(q): Query<TokenQuery>) -> Response {
    let l = Layout::from_ctx(&ctx, "/reset-password", Area::Portal);
    let mut res =
        render(&ResetPage { t: Tr::new(ctx.lang), l, token: q.token.chars().take(64).collect(), error: None });
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    res
}

#[derive(Deserialize)]
pub struct ResetForm {
    token: String,
    password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Meta(m): Meta,
    Form(f): Form<ResetForm>,
) -> Result<Response, WebError> {
    match accounts::reset_password(&state.core, &f.token, &f.password, &m).await {
        Ok(_) => Ok(message(&ctx, "reset-done-title", "reset-done", Some(("/login", "nav-sign-in")))),
        Err(Error::Validation { code, .. }) => {
            let t = Tr::new(ctx.lang);
            let l = Layout::from_ctx(&ctx, "/reset-password", Area::Portal);
            let token = f.token.chars().take(64).collect();
            Ok(refused(render(&ResetPage { error: Some(t.t(&format!("invalid-{code}"))), t, l, token })))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn confirm_email(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, WebError> {
    match accounts::confirm_email_change(&state.core, &q.token).await {
        Ok(_) => Ok(message(&ctx, "email-changed-title", "email-changed", Some(("/account", "nav-account")))),
        Err(Error::Validation { .. } | Error::Conflict(_)) => {
            Ok(refused(message(&ctx, "link-title", "invalid-link-invalid", None)))
        }
        Err(e) => Err(e.into()),
    }
}
