//! A customer's own API tokens (the shared tokens page).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Form};
use lantian_core::i18n::Tr;

use super::{Area, Layout};
use crate::AppState;
use crate::auth::CustomerCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::tokens::{self, CreateForm};

const BASE: &str = "/account/tokens";

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
) -> Result<Response, WebError> {
    let l = Layout::from_ctx(&ctx, BASE, Area::Portal);
    tokens::page(&state, Tr::new(ctx.lang), l, BASE, c.subject(), None, None).await
}

pub async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    c: CustomerCtx,
    Form(f): Form<CreateForm>,
) -> Result<Response, WebError> {
    let l = Layout::from_ctx(&ctx, BASE, Area::Portal);
    tokens::create(&state, Tr::new(ctx.lang), l, BASE, c.subject(), &f).await
}

pub async fn revoke(State(state): State<AppState>, c: CustomerCtx, Path(id): Path<i64>) -> Result<Response, WebError> {
    tokens::revoke(&state, BASE, c.subject(), id).await
}
