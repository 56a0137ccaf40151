//! A staff member's own contact data: a phone for SMS security alerts, and the SMS consent.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::consents::{self, Purpose};
use lantian_core::crypto::mask;
use lantian_core::i18n::Tr;
use lantian_core::staff::PhoneChange;
use lantian_core::{Error, staff};
use serde::Deserialize;

use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, render};

#[derive(Template)]
#[template(path = "staff/profile.html")]
struct ProfilePage {
    t: Tr,
    l: Layout,
    /// Masked: the page never shows the full number back.
    phone: Option<String>,
    sms_consent: bool,
    sms_vendor: String,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    error: Option<String>,
) -> Result<Response, WebError> {
    let phone = staff::phone_of(&state.core, &s.member)?.map(|p| mask::phone(&p));
    let sms_consent = consents::current(&state.core.db, s.subject(), Purpose::SmsNotices).await?.is_some();
    let sms_vendor = state.core.sms.as_ref().map(|v| v.vendor().to_string()).unwrap_or_default();
    let l = super::layout(state, ctx, s, "/staff/profile").await?;
    let failed = error.is_some();
    let res = render(&ProfilePage { t: Tr::new(ctx.lang), l, phone, sms_consent, sms_vendor, error });
    Ok(if failed { crate::pages::refused(res) } else { res })
}

pub async fn show(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    page(&state, &ctx, &s, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    remove: Option<String>,
    #[serde(default)]
    sms: Option<String>,
    csrf: String,
}

pub async fn save(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Form(f): Form<ProfileForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    let change = match (f.remove.is_some(), f.phone.trim()) {
        (true, _) => PhoneChange::Remove,
        (false, "") => PhoneChange::Keep,
        (false, p) => PhoneChange::Set(p),
    };
    match staff::set_contact(&state.core, &s.principal, change, f.sms.is_some(), &s.meta).await {
        Ok(()) => Ok(Redirect::to("/staff/profile").into_response()),
        Err(Error::Validation { code, .. }) => {
            let msg = Tr::new(ctx.lang).t(&format!("invalid-{code}"));
            page(&state, &ctx, &s, Some(msg)).await
        }
        Err(e) => Err(e.into()),
    }
}
