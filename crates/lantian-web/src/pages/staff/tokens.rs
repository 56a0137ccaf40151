//! A staff member's own API tokens: create (shown once), list, revoke.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::Error;
use lantian_core::apitokens::{self, Scope, TokenRow};
use lantian_core::i18n::Tr;
use serde::Deserialize;

use crate::AppState;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, format_time, render};

pub struct Shown {
    pub id: i64,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub live: bool,
}

#[derive(Template)]
#[template(path = "staff/tokens.html")]
struct TokensPage {
    t: Tr,
    l: Layout,
    tokens: Vec<Shown>,
    new_token: Option<String>,
    error: Option<String>,
}

fn shown(tz: &str, now: lantian_core::UnixMs, r: TokenRow) -> Shown {
    Shown {
        id: r.id,
        live: r.revoked_at.is_none() && r.expires_at > now,
        name: r.name,
        scopes: r.scopes,
        created: format_time(tz, r.created_at),
        expires: format_time(tz, r.expires_at),
        last_used: r.last_used_at.map(|t| format_time(tz, t)).unwrap_or_default(),
    }
}

async fn page(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    new_token: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let tz = &state.core.config.business.time_zone;
    let now = state.core.now();
    let tokens = apitokens::list(&state.core, s.subject()).await?.into_iter().map(|r| shown(tz, now, r)).collect();
    let l = super::layout(state, ctx, s, "/staff/tokens").await?;
    let mut res = render(&TokensPage { t: Tr::new(ctx.lang), l, tokens, new_token, error });
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    page(&state, &ctx, &s, None, None).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
    #[serde(default)]
    write: Option<String>,
    days: u32,
    csrf: String,
}

pub async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Form(f): Form<CreateForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    let scopes: Vec<Scope> = if f.write.is_some() { vec![Scope::Read, Scope::Write] } else { vec![Scope::Read] };
    match apitokens::create(&state.core, s.subject(), &f.name, &scopes, f.days, state.core.now()).await {
        Ok((_, token)) => page(&state, &ctx, &s, Some(token), None).await,
        Err(Error::Validation { code, .. }) => {
            let msg = Tr::new(ctx.lang).t(&format!("invalid-{code}"));
            let mut res = page(&state, &ctx, &s, None, Some(msg)).await?;
            *res.status_mut() = http::StatusCode::UNPROCESSABLE_ENTITY;
            res.extensions_mut().insert(crate::middleware::errors::Rendered);
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    apitokens::revoke(&state.core, s.subject(), id, state.core.now()).await?;
    Ok(Redirect::to("/staff/tokens").into_response())
}
