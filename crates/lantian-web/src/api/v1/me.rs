//! Bearer authentication of the JSON API (personal access tokens) and `GET /api/v1/me`.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use lantian_core::accounts;
use lantian_core::apitokens::{self, Bearer};
use lantian_core::authz::SubjectKind;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::WebError;

/// The caller of an API request, from `Authorization: Bearer lt_...`.
pub struct ApiCaller(pub Bearer);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let bearer = match token {
            Some(t) => apitokens::authenticate(&state.core, t, state.core.now())
                .await
                .map_err(|e| WebError(e).into_response())?,
            None => None,
        };
        match bearer {
            Some(b) => Ok(ApiCaller(b)),
            None => {
                let mut res = StatusCode::UNAUTHORIZED.into_response();
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"lantian\""));
                Err(res)
            }
        }
    }
}

/// A customer's own account, as the API shows it (the phone masked).
#[derive(Serialize, ToSchema)]
pub struct Account {
    username: String,
    email: String,
    email_verified: bool,
    lang: String,
    phone: Option<String>,
    qq: Option<String>,
    country: Option<String>,
    province: Option<String>,
    city: Option<String>,
    sms_notices: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    /// `customer` or `staff`.
    kind: &'static str,
    id: i64,
    scopes: Vec<&'static str>,
    /// Present for customers.
    account: Option<Account>,
}

pub async fn account_of(state: &AppState, id: i64, b: &Bearer) -> Result<Me, WebError> {
    let c = accounts::get(&state.core, id).await?;
    let p = accounts::profile(&state.core, id).await?;
    let account = Account {
        username: c.username,
        email: c.email,
        email_verified: c.email_verified_at.is_some(),
        lang: p.lang.code().to_string(),
        phone: p.phone_masked,
        qq: p.qq,
        country: p.country,
        province: p.province,
        city: p.city,
        sms_notices: p.sms_consent,
    };
    Ok(Me { kind: "customer", id, scopes: b.scopes.iter().map(|s| s.as_str()).collect(), account: Some(account) })
}

/// Who the token speaks for.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's owner and scopes", body = Me),
        (status = 401, description = "No valid token", body = super::Problem, content_type = "application/problem+json"),
    ),
    tag = "account"
)]
pub async fn me(State(state): State<AppState>, caller: ApiCaller) -> Result<Json<Me>, WebError> {
    let b = caller.0;
    match b.subject.kind {
        SubjectKind::Customer => Ok(Json(account_of(&state, b.subject.id, &b).await?)),
        SubjectKind::Staff => {
            let scopes = b.scopes.iter().map(|s| s.as_str()).collect();
            Ok(Json(Me { kind: "staff", id: b.subject.id, scopes, account: None }))
        }
    }
}
