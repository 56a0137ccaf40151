//! Personal access tokens, for staff (console) and customers (account centre) alike: create
//! (shown once), list, revoke.

use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use lantian_core::apitokens::{self, Scope, TokenRow};
use lantian_core::authz::Subject;
use lantian_core::i18n::Tr;
use lantian_core::{Error, UnixMs};
use serde::Deserialize;

use super::{Layout, format_time, render};
use crate::AppState;
use crate::error::WebError;

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
#[template(path = "tokens.html")]
struct TokensPage {
    t: Tr,
    l: Layout,
    /// Where the page lives: `/staff/tokens` or `/account/tokens`.
    base: &'static str,
    tokens: Vec<Shown>,
    new_token: Option<String>,
    error: Option<String>,
}

fn shown(tz: &str, now: UnixMs, r: TokenRow) -> Shown {
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

/// The page of `subject`'s tokens, with a token just made or an error.
pub async fn page(
    state: &AppState,
    t: Tr,
    l: Layout,
    base: &'static str,
    subject: Subject,
    new_token: Option<String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let tz = &state.core.config.business.time_zone;
    let now = state.core.now();
    let tokens = apitokens::list(&state.core, subject).await?.into_iter().map(|r| shown(tz, now, r)).collect();
    let failed = error.is_some();
    let mut res = render(&TokensPage { t, l, base, tokens, new_token, error });
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(if failed { super::refused(res) } else { res })
}

#[derive(Deserialize)]
pub struct CreateForm {
    name: String,
    #[serde(default)]
    write: Option<String>,
    days: u32,
    #[serde(default)]
    pub csrf: String,
}

/// Makes a token; the page shows it once, or the refused field.
pub async fn create(
    state: &AppState,
    t: Tr,
    l: Layout,
    base: &'static str,
    subject: Subject,
    f: &CreateForm,
) -> Result<Response, WebError> {
    let scopes: Vec<Scope> = if f.write.is_some() { vec![Scope::Read, Scope::Write] } else { vec![Scope::Read] };
    match apitokens::create(&state.core, subject, &f.name, &scopes, f.days, state.core.now()).await {
        Ok((_, token)) => page(state, t, l, base, subject, Some(token), None).await,
        Err(Error::Validation { code, .. }) => {
            let msg = t.t(&format!("invalid-{code}"));
            page(state, t, l, base, subject, None, Some(msg)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(state: &AppState, base: &'static str, subject: Subject, id: i64) -> Result<Response, WebError> {
    apitokens::revoke(&state.core, subject, id, state.core.now()).await?;
    Ok(Redirect::to(base).into_response())
}
