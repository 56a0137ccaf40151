//! Cross-site request forgery, first line: a state-changing request from a browser must come
//! from our own origin (Sec-Fetch-Site, else Origin). Requests without either header are not
//! from a browser and carry no ambient credentials worth forging. The second line, form
//! tokens held in the session row, is checked by the forms that change account state.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};

use crate::AppState;

/// Paths whose callers are other servers that sign their requests (payment callbacks) or
/// authenticate with a bearer token instead of a cookie (the JSON API).
fn exempt(req: &Request) -> bool {
    let path = req.uri().path();
    path == "/pay/coopay/notify"
        || (path.starts_with("/api/") && req.headers().contains_key(http::header::AUTHORIZATION))
}

pub async fn check_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE);
    if safe || exempt(&req) || same_origin(&req, &state.web.origin, state.web.https) {
        return next.run(req).await;
    }
    tracing::info!(path = %req.uri().path(), "cross-origin request refused");
    StatusCode::FORBIDDEN.into_response()
}

fn same_origin(req: &Request, own: &str, https: bool) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match h.get(http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => origin == own || host_origin(req, https).is_some_and(|o| o == origin),
    }
}

/// The origin the browser used, from Host (for a site reached by another name than
/// `server.public_url`, e.g. 127.0.0.1 vs localhost in the demo).
fn host_origin(req: &Request, https: bool) -> Option<String> {
    let host = req.headers().get(http::header::HOST)?.to_str().ok()?;
    let scheme = if https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}
