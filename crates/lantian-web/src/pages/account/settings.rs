//! The account centre's settings: optional contact data (C1.6), two-step verification, and
//! the e-mail change.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::accounts::{self, ProfileInput};
use lantian_core::i18n::{Lang, Tr};
use lantian_core::phone::PhoneChange;
use lantian_core::{Error, totp};
use serde::Deserialize;

use super::{Area, Layout, refused, render};
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;

#[derive(Template)]
#[template(path = "account/profile.html")]
struct ProfilePage {
    t: Tr,
    l: Layout,
    p: accounts::Profile,
    sms_vendor: String,
    error: Option<(&'static str, String)>,
}

impl ProfilePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| *f == field).map(|(_, e)| e.as_str())
    }
    fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

async fn profile_page(
    state: &AppState,
    ctx: &RequestContext,
    c: &CustomerCtx,
    error: Option<(&'static str, String)>,
) -> Result<Response, WebError> {
    let p = accounts::profile(&state.core, c.customer.id).await?;
    let sms_vendor = state.core.sms.as_ref().map(|v| v.vendor().to_string()).unwrap_or_default();
    let l = Layout::from_ctx(ctx, "/account/profile", Area::Portal);
    let failed = error.is_some();
    let res = render(&ProfilePage { t: Tr::new(ctx.lang), l, p, sms_vendor, error });
    Ok(if failed { refused(res) } else { res })
}

pub async fn profile_form(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
) -> Result<Response, WebError> {
    profile_page(&state, &ctx, &c, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    remove_phone: Option<String>,
    #[serde(default)]
    qq: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    sms: Option<String>,
}

pub async fn save_profile(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Form(f): Form<ProfileForm>,
) -> Result<Response, WebError> {
    let phone = match (f.remove_phone.is_some(), f.phone.trim()) {
        (true, _) => PhoneChange::Remove,
        (false, "") => PhoneChange::Keep,
        (false, p) => PhoneChange::Set(p),
    };
    let input = ProfileInput {
        phone,
        qq: &f.qq,
        country: &f.country,
        province: &f.province,
        city: &f.city,
        lang: Lang::from_code(&f.lang).unwrap_or(ctx.lang),
        sms_consent: f.sms.is_some(),
    };
    let lang = input.lang;
    match accounts::update_profile(&state.core, c.customer.id, input, &c.meta).await {
        Ok(()) => {
            let mut res = Redirect::to("/account/profile").into_response();
            crate::pages::preferences::adopt_language(&state, &mut res, ctx.prefs, lang);
            Ok(res)
        }
        Err(Error::Validation { field, code }) => {
            let text = Tr::new(ctx.lang).t(&format!("invalid-{code}"));
            profile_page(&state, &ctx, &c, Some((field, text))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "account/security.html")]
struct SecurityPage {
    t: Tr,
    l: Layout,
    totp_on: bool,
    enrol: Option<totp::Enrolment>,
    codes: Vec<String>,
    email: String,
    message: Option<String>,
    error: Option<(&'static str, String)>,
}

impl SecurityPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| *f == field).map(|(_, e)| e.as_str())
    }
}

struct Shown {
    enrol: bool,
    codes: Vec<String>,
    message: Option<String>,
    error: Option<(&'static str, String)>,
}

async fn security_page(
    state: &AppState,
    ctx: &RequestContext,
    c: &CustomerCtx,
    shown: Shown,
) -> Result<Response, WebError> {
    let subject = c.subject();
    let totp_on = totp::is_enabled(&state.core, subject).await?;
    let account = format!("{}@lantian", c.customer.username);
    let enrol = if shown.enrol && !totp_on {
        match totp::pending(&state.core, subject, &account).await? {
            Some(e) => Some(e),
            None => Some(totp::begin(&state.core, subject, &account, state.core.now()).await?),
        }
    } else {
        None
    };
    let failed = shown.error.is_some();
    let page = SecurityPage {
        t: Tr::new(ctx.lang),
        l: Layout::from_ctx(ctx, "/account/security", Area::Portal),
        totp_on,
        enrol,
        codes: shown.codes,
        email: c.customer.email.clone(),
        message: shown.message,
        error: shown.error,
    };
    let mut res = render(&page);
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(if failed { refused(res) } else { res })
}

pub async fn security(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
) -> Result<Response, WebError> {
    security_page(&state, &ctx, &c, Shown { enrol: false, codes: vec![], message: None, error: None }).await
}

#[derive(Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    code: String,
}

/// Without a code: shows the QR code. With one: confirms the enrolment.
pub async fn enable_totp(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Form(f): Form<TotpForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    if f.code.trim().is_empty() {
        return security_page(&state, &ctx, &c, Shown { enrol: true, codes: vec![], message: None, error: None }).await;
    }
    match accounts::enable_totp(&state.core, c.customer.id, &f.code).await {
        Ok(codes) => security_page(&state, &ctx, &c, Shown { enrol: false, codes, message: None, error: None }).await,
        Err(Error::Validation { .. }) => {
            let error = Some(("code", t.t("totp-wrong")));
            security_page(&state, &ctx, &c, Shown { enrol: true, codes: vec![], message: None, error }).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

pub async fn change_email(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Form(f): Form<EmailForm>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let shown = match accounts::request_email_change(&state.core, c.customer.id, &f.email).await {
        Ok(()) => Shown { enrol: false, codes: vec![], message: Some(t.t("email-change-sent")), error: None },
        Err(Error::Validation { code, .. }) => Shown {
            enrol: false,
            codes: vec![],
            message: None,
            error: Some(("email", t.t(&format!("invalid-{code}")))),
        },
        Err(e) => return Err(e.into()),
    };
    security_page(&state, &ctx, &c, shown).await
}
