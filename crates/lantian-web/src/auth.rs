//! Who is asking: the session cookie resolved to a session row and its subject. One cookie
//! (`__Host-lantian_session` over HTTPS), HttpOnly, SameSite=Lax, no expiry of its own: the
//! server decides when a session ends.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, header};
use lantian_core::authz::{Principal, Subject, SubjectKind};
use lantian_core::crypto::token::same;
use lantian_core::sessions::{self, SessionRow};
use lantian_core::staff::{self, StaffMember};
use lantian_core::{Error, RequestMeta};

use crate::AppState;
use crate::error::WebError;
use crate::middleware::RequestContext;

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn set_session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = if state.web.https { "; Secure" } else { "" };
    let v = format!("{}={token}; Path=/; HttpOnly; SameSite=Lax{secure}", state.web.session_cookie);
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static(""))
}

pub fn clear_session_cookie(state: &AppState) -> HeaderValue {
    let secure = if state.web.https { "; Secure" } else { "" };
    let v = format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}", state.web.session_cookie);
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static(""))
}

/// A redirect that also sets the session cookie (after a sign-in step or a rotation).
pub fn redirect_with_session(state: &AppState, to: &str, token: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().insert(header::SET_COOKIE, set_session_cookie(state, token));
    res
}

pub fn meta(parts: &Parts) -> RequestMeta {
    RequestMeta {
        ip: parts.extensions.get::<RequestContext>().map(|c| c.client_ip.to_string()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
        request_id: parts.headers.get(&crate::app::REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_string),
    }
}

/// The request's facts for sessions and the audit trail, as an extractor.
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Meta(meta(parts)))
    }
}

/// The live session of the request, of any stage and subject.
async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<SessionRow>, WebError> {
    let Some(token) = cookie(&parts.headers, state.web.session_cookie) else { return Ok(None) };
    Ok(sessions::lookup(&state.core, token, state.core.now()).await?)
}

/// A signed-in staff member (password and second factor done, password no longer one-time).
pub struct StaffCtx {
    pub session: SessionRow,
    pub principal: Principal,
    pub member: StaffMember,
    pub meta: RequestMeta,
}

impl StaffCtx {
    /// The form token of staff forms: the session's CSRF secret.
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if same(token, &self.session.csrf_secret) { Ok(()) } else { Err(WebError(Error::Forbidden)) }
    }

    pub fn subject(&self) -> Subject {
        Subject::staff(self.member.id)
    }
}

impl FromRequestParts<AppState> for StaffCtx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let login = || Redirect::to("/staff/login").into_response();
        let session = session_of(parts, state).await.map_err(IntoResponse::into_response)?.ok_or_else(login)?;
        if session.subject().map(|s| s.kind) != Some(SubjectKind::Staff) {
            return Err(login());
        }
        if !session.is_active() {
            return Err(Redirect::to("/staff/login/second-factor").into_response());
        }
        let principal =
            staff::principal(&state.core, session.subject_id).await.map_err(|e| WebError(e).into_response())?;
        let Some(principal) = principal else { return Err(login()) };
        let member = staff::get(&state.core, session.subject_id).await.map_err(|e| WebError(e).into_response())?;
        if member.must_change_password && !matches!(parts.uri.path(), "/staff/password" | "/staff/logout") {
            return Err(Redirect::to("/staff/password").into_response());
        }
        Ok(StaffCtx { session, principal, member, meta: meta(parts) })
    }
}

/// A staff member half-way through signing in: the password was right, the second factor
/// (or its enrolment) is pending.
pub struct PendingStaff {
    pub session: SessionRow,
    pub member: StaffMember,
    pub meta: RequestMeta,
}

impl PendingStaff {
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if same(token, &self.session.csrf_secret) { Ok(()) } else { Err(WebError(Error::Forbidden)) }
    }
}

impl FromRequestParts<AppState> for PendingStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let login = || Redirect::to("/staff/login").into_response();
        let session = session_of(parts, state).await.map_err(IntoResponse::into_response)?.ok_or_else(login)?;
        if session.subject().map(|s| s.kind) != Some(SubjectKind::Staff) || session.is_active() {
            return Err(login());
        }
        let member = staff::get(&state.core, session.subject_id).await.map_err(|e| WebError(e).into_response())?;
        if !member.active {
            return Err(login());
        }
        Ok(PendingStaff { session, member, meta: meta(parts) })
    }
}
