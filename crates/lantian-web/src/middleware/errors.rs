//! Every error response gets a body the client can read: an HTML page in its language on the
//! site, an RFC 9457 problem document under /api. This includes axum's own rejections
//! (malformed forms or JSON, bad path encoding), the body limit, the time-out and panics, so
//! nothing a client sends produces a bare or English-only error.

use std::any::Any;

use askama::Template;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::error::FieldProblem;
use crate::middleware::RequestContext;
use crate::pages::Layout;
use lantian_core::i18n::Tr;

/// Marks a response whose body a handler drew itself; the middleware leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct Rendered;

pub async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

pub fn panic_response(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

pub async fn render_error_pages(req: Request, next: Next) -> Response {
    let ctx = req.extensions().get::<RequestContext>().cloned();
    let api = req.uri().path().starts_with("/api/");
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || res.extensions().get::<Rendered>().is_some() {
        return res;
    }
    let lang = ctx.as_ref().map(|c| c.lang).unwrap_or_default();
    let tr = Tr::new(lang);
    let field = res.extensions().get::<FieldProblem>().cloned();
    let mut out = if api {
        problem(&tr, status, field.as_ref(), &path)
    } else {
        page(&tr, ctx.as_ref(), status, field.as_ref(), &path)
    };
    *out.status_mut() = status;
    // Keep what the inner response said about retrying and allowed methods.
    for name in [header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE, header::SET_COOKIE, header::LOCATION] {
        if let Some(v) = res.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out.extensions_mut().insert(Rendered);
    out
}

/// The translated title and explanation of a status.
fn texts(tr: &Tr, status: StatusCode, field: Option<&FieldProblem>) -> (String, String) {
    let key = match status.as_u16() {
        400 => "bad-request",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        409 => "conflict",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        422 => "unprocessable",
        429 => "too-many-requests",
        503 => "unavailable",
        s if s >= 500 => "server-error",
        _ => "bad-request",
    };
    let title = tr.t(&format!("error-{key}-title"));
    let detail = match field {
        Some(f) => tr.t(&format!("invalid-{}", f.code)),
        None => tr.t(&format!("error-{key}-detail")),
    };
    (title, detail)
}

/// An RFC 9457 problem document, as every API error is answered.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    kind: &'static str,
    /// Short, translated (preference cookie or Accept-Language).
    title: String,
    status: u16,
    /// What went wrong and what to do, translated.
    detail: String,
    /// The request path.
    instance: String,
    /// The input that was refused, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

fn problem(tr: &Tr, status: StatusCode, field: Option<&FieldProblem>, path: &str) -> Response {
    let (title, detail) = texts(tr, status, field);
    let body = Problem {
        kind: "about:blank",
        title,
        status: status.as_u16(),
        detail,
        instance: path.to_string(),
        field: field.map(|f| f.field),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut res = Response::new(Body::from(json));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    res
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    l: Layout,
    status: u16,
    title: String,
    detail: String,
}

fn page(
    tr: &Tr,
    ctx: Option<&RequestContext>,
    status: StatusCode,
    field: Option<&FieldProblem>,
    path: &str,
) -> Response {
    let (title, detail) = texts(tr, status, field);
    let l = Layout::new(ctx, path, crate::pages::Area::Public);
    let page = ErrorPage { t: *tr, l, status: status.as_u16(), title, detail };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the error page itself failed to render");
            (status, "error").into_response()
        }
    }
}
