//! The team: staff members with masked e-mails, the audited reveal, creation and deactivation.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use lantian_core::authz::Role;
use lantian_core::crypto::mask;
use lantian_core::i18n::Tr;
use lantian_core::{Error, staff};
use serde::Deserialize;

use crate::AppState;
use crate::auth::CsrfForm;
use crate::auth::StaffCtx;
use crate::error::WebError;
use crate::middleware::RequestContext;
use crate::pages::{Layout, render};

pub struct Row {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// Masked, unless just revealed.
    pub email: String,
    pub revealed: bool,
    pub roles: String,
    pub active: bool,
    pub is_self: bool,
}

#[derive(Template)]
#[template(path = "staff/team.html")]
struct TeamPage {
    t: Tr,
    l: Layout,
    rows: Vec<Row>,
    can_reveal: bool,
    /// (value, label) of the roles this member may grant.
    roles: Vec<(&'static str, String)>,
    /// The one-time password of a member just created, shown once.
    created: Option<(String, String)>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    ctx: &RequestContext,
    s: &StaffCtx,
    revealed: Option<(i64, String)>,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let t = Tr::new(ctx.lang);
    let members = staff::list(&state.core, &s.principal).await?;
    let rows = members
        .into_iter()
        .map(|m| {
            let shown = revealed.as_ref().filter(|(id, _)| *id == m.id).map(|(_, v)| v.clone());
            Row {
                id: m.id,
                is_self: m.id == s.member.id,
                revealed: shown.is_some(),
                email: shown.unwrap_or_else(|| mask::email(&m.email)),
                roles: m.roles.iter().map(|r| t.t(&format!("role-{}", r.as_str()))).collect::<Vec<_>>().join(", "),
                username: m.username,
                display_name: m.display_name,
                active: m.active,
            }
        })
        .collect();
    let l = super::layout(state, ctx, s, "/staff/team").await?;
    let page = TeamPage {
        l,
        rows,
        can_reveal: s.principal.can(lantian_core::authz::Permission::RevealPersonalData),
        roles: Role::ALL
            .iter()
            .filter(|r| **r != Role::Owner || s.principal.is_owner())
            .map(|r| (r.as_str(), t.t(&format!("role-{}", r.as_str()))))
            .collect(),
        created,
        error,
        t,
    };
    let mut res = render(&page);
    res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
) -> Result<Response, WebError> {
    page(&state, &ctx, &s, None, None, None).await
}

#[derive(Deserialize)]
pub struct RevealForm {
    reason: String,
    csrf: String,
}

pub async fn reveal(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<RevealForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    let now = state.core.now();
    match staff::reveal_email(&state.core, &s.principal, id, &f.reason, &s.meta, now).await {
        Ok(email) => page(&state, &ctx, &s, Some((id, email)), None, None).await,
        Err(Error::Validation { code, .. }) => {
            let msg = Tr::new(ctx.lang).t(&format!("invalid-{code}"));
            Ok(crate::pages::refused(page(&state, &ctx, &s, None, None, Some(msg)).await?))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    username: String,
    display_name: String,
    email: String,
    role: String,
    csrf: String,
}

pub async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    s: StaffCtx,
    Form(f): Form<CreateForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    let role = Role::parse(&f.role).ok_or(Error::validation("role", "roles"))?;
    let input = staff::NewStaff {
        username: f.username.clone(),
        display_name: f.display_name,
        email: f.email,
        roles: vec![role],
    };
    match staff::create(&state.core, &s.principal, input, &s.meta).await {
        Ok((_, password)) => {
            page(&state, &ctx, &s, None, Some((f.username.trim().to_lowercase(), password)), None).await
        }
        Err(e @ (Error::Validation { .. } | Error::Conflict(_))) => {
            let t = Tr::new(ctx.lang);
            let msg = match e {
                Error::Validation { code, .. } => t.t(&format!("invalid-{code}")),
                _ => t.t("staff-username-taken"),
            };
            Ok(crate::pages::refused(page(&state, &ctx, &s, None, None, Some(msg)).await?))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn deactivate(
    State(state): State<AppState>,
    s: StaffCtx,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    s.check_csrf(&f.csrf)?;
    staff::deactivate(&state.core, &s.principal, id, &s.meta).await?;
    Ok(Redirect::to("/staff/team").into_response())
}
