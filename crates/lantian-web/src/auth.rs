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
use crate::middleware::access_log::LogSlot;

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

/// The live session of the request, of any stage and subject. Every session extractor comes
/// here, so this is where the access log learns who made the request.
async fn session_of(parts: &Parts, state: &AppState) -> Result<Option<SessionRow>, WebError> {
    let Some(token) = cookie(&parts.headers, state.web.session_cookie) else { return Ok(None) };
    // The remember-me check may have looked this session up already.
    let session = match parts.extensions.get::<LiveSession>() {
        Some(LiveSession(s)) => Some(s.clone()),
        None => sessions::lookup(&state.core, token, state.core.now()).await?,
    };
    if let Some(subject) = session.as_ref().and_then(SessionRow::subject) {
        LogSlot::of(parts).set_subject(subject);
    }
    Ok(session)
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

/// A signed-in customer (with the second factor done, when enabled).
pub struct CustomerCtx {
    pub session: SessionRow,
    pub customer: lantian_core::accounts::Customer,
    pub meta: RequestMeta,
}

impl CustomerCtx {
    pub fn subject(&self) -> Subject {
        Subject::customer(self.customer.id)
    }
}

impl FromRequestParts<AppState> for CustomerCtx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let login = || Redirect::to("/login").into_response();
        let session = session_of(parts, state).await.map_err(IntoResponse::into_response)?.ok_or_else(login)?;
        if session.subject().map(|s| s.kind) != Some(SubjectKind::Customer) {
            return Err(login());
        }
        if !session.is_active() {
            return Err(Redirect::to("/login/second-factor").into_response());
        }
        let customer = match lantian_core::accounts::get(&state.core, session.subject_id).await {
            Ok(c) => c,
            Err(Error::NotFound) => return Err(login()),
            Err(e) => return Err(WebError(e).into_response()),
        };
        Ok(CustomerCtx { session, customer, meta: meta(parts) })
    }
}

/// A customer between the password and the second factor.
pub struct PendingCustomer {
    pub session: SessionRow,
}

impl FromRequestParts<AppState> for PendingCustomer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let login = || Redirect::to("/login").into_response();
        let session = session_of(parts, state).await.map_err(IntoResponse::into_response)?.ok_or_else(login)?;
        if session.subject().map(|s| s.kind) != Some(SubjectKind::Customer) || session.is_active() {
            return Err(login());
        }
        Ok(PendingCustomer { session })
    }
}

/// A cookie header value that sets (`Some`) or deletes (`None`) the remember-me cookie.
pub fn remember_cookie(state: &AppState, token: Option<&str>) -> HeaderValue {
    let secure = if state.web.https { "; Secure" } else { "" };
    let v = match token {
        Some(t) => {
            format!("{}={t}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax{secure}", state.web.remember_cookie)
        }
        None => format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}", state.web.remember_cookie),
    };
    HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static(""))
}

/// A session the remember-me check found live, kept for the page's extractor so it is not
/// looked up twice.
#[derive(Clone)]
struct LiveSession(SessionRow);

/// "Remember me": when a request carries the remember-me cookie but no live session, the
/// token is exchanged for a new session (and a rotated token) before the page runs.
pub async fn remember_me(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(token) = cookie(req.headers(), state.web.remember_cookie).map(str::to_string) else {
        return next.run(req).await;
    };
    let live = match cookie(req.headers(), state.web.session_cookie) {
        Some(s) => sessions::lookup(&state.core, s, state.core.now()).await.ok().flatten(),
        None => None,
    };
    if let Some(session) = live {
        req.extensions_mut().insert(LiveSession(session));
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let m = meta(&parts);
    req = axum::extract::Request::from_parts(parts, body);
    match lantian_core::accounts::exchange_remember_token(&state.core, &token, &m).await {
        Ok(lantian_core::accounts::Remembered::Renewed { session_token, remember_token }) => {
            // The page itself sees the new session.
            let cookie_header = format!("{}={session_token}", state.web.session_cookie);
            if let Ok(v) = HeaderValue::from_str(&cookie_header) {
                req.headers_mut().insert(header::COOKIE, v);
            }
            let mut res = next.run(req).await;
            res.headers_mut().append(header::SET_COOKIE, set_session_cookie(&state, &session_token));
            res.headers_mut().append(header::SET_COOKIE, remember_cookie(&state, Some(&remember_token)));
            res
        }
        Ok(_) => {
            let mut res = next.run(req).await;
            res.headers_mut().append(header::SET_COOKIE, remember_cookie(&state, None));
            res
        }
        Err(e) => WebError(e).into_response(),
    }
}

/// A form that carries nothing but the console's form token (sign-out, deactivate, retry ...).
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}
