//! A staff member's own API tokens (the shared tokens page, with the console's form token).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Form};
use lantian_core::i18n::Tr;

use crate::AppState;
use crate::auth::CsrfForm;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::tokens::{self, CreateForm};

const BASE: &str = "/staff/tokens";

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    let l = super::layout(&state, &ctx, &s, BASE).await?;
    tokens::page(&state, Tr::new(ctx.lang), l, BASE, s.subject(), None, None).await
}

pub async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Form(f): Form<CreateForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    let l = super::layout(&state, &ctx, &s, BASE).await?;
    tokens::create(&state, Tr::new(ctx.lang), l, BASE, s.subject(), &f).await
}

pub async fn revoke(
    State(state): State<AppState>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    tokens::revoke(&state, BASE, s.subject(), id).await
}
