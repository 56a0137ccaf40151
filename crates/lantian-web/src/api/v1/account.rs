//! The customer's account over the API: a bearer token from credentials, the profile, and the
//! sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use lantian_core::accounts::{self, Credentials, ProfileInput};
use lantian_core::apitokens::{self, Scope};
use lantian_core::i18n::Lang;
use lantian_core::phone::PhoneChange;
use lantian_core::{Error, sessions, totp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::customer;
use super::me::ApiCaller;
use crate::AppState;
use crate::auth::Meta;
use crate::error::WebError;

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Username or e-mail.
    login: String,
    password: String,
    /// The current code of the authenticator app (or a recovery code), when enabled.
    totp: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    /// Epoch milliseconds.
    expires_at: i64,
}

/// Exchanges credentials for a bearer token valid one day, with the same defences as the
/// sign-in page (throttling, lock-outs, second factor).
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A new token", body = TokenResponse),
        (status = 401, description = "Wrong login or password", body = super::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A second-factor code is needed or wrong", body = super::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "account"
)]
pub async fn token(
    State(state): State<AppState>,
    Meta(m): Meta,
    Json(req): Json<TokenRequest>,
) -> Result<Response, WebError> {
    let core = &state.core;
    let id = match accounts::check_credentials(core, &req.login, &req.password, &m).await? {
        Credentials::Wrong { .. } => return Ok(StatusCode::UNAUTHORIZED.into_response()),
        Credentials::Throttled(retry_after) => return Err(WebError(Error::RateLimited { retry_after })),
        Credentials::Valid { customer_id, needs_second_factor } => {
            if needs_second_factor {
                let code = req.totp.as_deref().ok_or(Error::validation("totp", "totp-required"))?;
                if !totp::verify(core, accounts::subject(customer_id), code, core.now()).await? {
                    return Err(WebError(Error::validation("totp", "totp-wrong")));
                }
            }
            customer_id
        }
    };
    let now = core.now();
    let (_, token) =
        apitokens::create(core, accounts::subject(id), "API sign-in", &[Scope::Read, Scope::Write], 1, now).await?;
    let expires_at = now.plus(std::time::Duration::from_secs(86_400)).0;
    Ok(Json(TokenResponse { token, expires_at }).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct ProfilePatch {
    /// `zh-CN` or `en`.
    lang: Option<String>,
    /// Empty clears it.
    qq: Option<String>,
    country: Option<String>,
    province: Option<String>,
    city: Option<String>,
}

/// Changes the optional profile data; fields left out stay as they are.
#[utoipa::path(
    patch,
    path = "/api/v1/me",
    request_body = ProfilePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account after the change", body = super::me::Me),
        (status = 422, description = "A value is refused", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "account"
)]
pub async fn patch_me(
    State(state): State<AppState>,
    caller: ApiCaller,
    Meta(m): Meta,
    Json(p): Json<ProfilePatch>,
) -> Result<Response, WebError> {
    let id = customer(&caller, Scope::Write)?;
    let now = accounts::profile(&state.core, id).await?;
    let pick = |new: &Option<String>, old: &Option<String>| new.clone().or_else(|| old.clone()).unwrap_or_default();
    let (qq, country, province, city) = (
        pick(&p.qq, &now.qq),
        pick(&p.country, &now.country),
        pick(&p.province, &now.province),
        pick(&p.city, &now.city),
    );
    let lang = match &p.lang {
        Some(l) => Lang::from_code(l).ok_or(Error::validation("lang", "lang"))?,
        None => now.lang,
    };
    let input = ProfileInput {
        phone: PhoneChange::Keep,
        qq: &qq,
        country: &country,
        province: &province,
        city: &city,
        lang,
        sms_consent: now.sms_consent,
    };
    accounts::update_profile(&state.core, id, input, &m).await?;
    Ok(Json(super::me::account_of(&state, id, &caller.0).await?).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct SessionOut {
    id: i64,
    browser: Option<String>,
    os: Option<String>,
    ip: Option<String>,
    created_at: i64,
    last_seen_at: i64,
}

/// The caller's signed-in browser sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", security(("bearer" = [])), responses((status = 200, body = Vec<SessionOut>)), tag = "account")]
pub async fn list_sessions(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Json<Vec<SessionOut>>, WebError> {
    let id = customer(&caller, Scope::Read)?;
    let rows = sessions::list_live(&state.core, accounts::subject(id), state.core.now()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|s| SessionOut {
                id: s.id,
                browser: s.browser,
                os: s.os,
                ip: s.ip,
                created_at: s.created_at.0,
                last_seen_at: s.last_seen_at.0,
            })
            .collect(),
    ))
}

/// Ends one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204), (status = 404, body = super::Problem, content_type = "application/problem+json")), tag = "account")]
pub async fn end_session(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(sid): Path<i64>,
) -> Result<StatusCode, WebError> {
    let id = customer(&caller, Scope::Write)?;
    let now = state.core.now();
    let own = sessions::list_live(&state.core, accounts::subject(id), now).await?.iter().any(|s| s.id == sid);
    if !own {
        return Err(WebError(Error::NotFound));
    }
    sessions::end(&state.core, sid, "ended through the API", now).await?;
    Ok(StatusCode::NO_CONTENT)
}
