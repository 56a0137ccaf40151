//! Bearer authentication of the JSON API (personal access tokens) and `GET /api/v1/me`.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use lantian_core::apitokens::{self, Bearer};
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

#[derive(Serialize, ToSchema)]
pub struct Me {
    /// `customer` or `staff`.
    kind: &'static str,
    id: i64,
    scopes: Vec<&'static str>,
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
pub async fn me(caller: ApiCaller) -> Json<Me> {
    let b = caller.0;
    Json(Me { kind: b.subject.kind.as_str(), id: b.subject.id, scopes: b.scopes.iter().map(|s| s.as_str()).collect() })
}
