//! The HTTP side: every request passes [`gate`] (recorded, faults, the token), then a route.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Extension, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use serde_json::json;

use super::Shared;
use super::faults::Fault;
use super::reply::{self, PveError};
use super::schema::Params;
use crate::harness::HangUp;

/// A request's decoded parameters, handed from the gate to the route.
#[derive(Clone, Default)]
struct Input {
    query: Params,
    form: Params,
}

/// Larger bodies are not a provisioning client's.
const BODY_LIMIT: usize = 1 << 20;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let vm = "/api2/json/nodes/{node}/qemu/{vmid}";
    Router::new()
        .route("/api2/json/version", get(version))
        .route("/api2/json/cluster/resources", get(resources))
        .route("/api2/json/nodes/{node}/qemu", get(node_vms))
        .route(vm, delete(destroy))
        .route(&format!("{vm}/clone"), post(clone))
        .route(&format!("{vm}/config"), get(config).put(set_config))
        .route(&format!("{vm}/resize"), put(resize))
        .route(&format!("{vm}/status/current"), get(current))
        .route(&format!("{vm}/status/{{action}}"), post(power))
        .route("/api2/json/nodes/{node}/tasks/{upid}/status", get(task))
        .route("/api2/json/nodes/{node}/tasks/{upid}/log", get(task_log))
        .fallback(not_implemented)
        .method_not_allowed_fallback(not_implemented)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), gate))
        .with_state(shared)
}

/// Records the request, applies an armed fault, checks the token and the parameters, runs the
/// route, and hangs up instead of answering when `drop_after_accept_next` fits.
async fn gate(
    State(s): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<HangUp>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return reply::refused(&PveError::new(413, "request entity too large"));
    };
    let query = Query::<Params>::try_from_uri(&parts.uri).ok().map(|Query(q)| q);
    let form = form(&parts.headers, body.clone()).await;
    let input = Input { query: query.clone().unwrap_or_default(), form: form.clone().unwrap_or_default() };
    s.record(&parts.method, parts.uri.path(), &parts.headers, &input.query, &input.form);
    match s.faults.take() {
        Some(Fault::Hang) => {
            s.hang().await;
            return reply::refused(&PveError::new(503, "the fake is stopping"));
        }
        Some(Fault::Html) => return reply::html(),
        Some(Fault::Error { status, message }) => return reply::refused(&PveError::new(status, message)),
        None => {}
    }
    if !s.authorized(&parts.headers) {
        return reply::refused(&PveError::new(401, "authentication failure"));
    }
    let reads = matches!(parts.method, Method::GET | Method::DELETE);
    if reads && !body.is_empty() {
        return reply::refused(&PveError::new(501, format!("Unexpected content for method '{}'", parts.method)));
    }
    if query.is_none() || form.is_none() {
        return reply::refused(&PveError::new(400, "unable to parse the parameters (form bodies only)"));
    }
    if parts.method != Method::GET
        && let Some(lock) = s.faults.take_locked()
    {
        return reply::refused(&PveError::locked(&lock));
    }
    let path = parts.uri.path().to_owned();
    let mut request = Request::from_parts(parts, Body::empty());
    request.extensions_mut().insert(input);
    let response = next.run(request).await;
    if s.faults.take_drop(&path) {
        conn.hang_up();
    }
    response
}

/// The form body; `None` when it is not a readable form.
async fn form(headers: &HeaderMap, body: Bytes) -> Option<Params> {
    if body.is_empty() {
        return Some(Params::new());
    }
    let mut request = Request::post("/").body(Body::from(body)).ok()?;
    request.headers_mut().insert(header::CONTENT_TYPE, headers.get(header::CONTENT_TYPE)?.clone());
    axum::Form::<Params>::from_request(request, &()).await.ok().map(|axum::Form(params)| params)
}

type VmPath = Path<(String, u32)>;

async fn version(State(s): State<Arc<Shared>>) -> Response {
    s.run(None, |_, _| Ok(json!({"version": "8.4.1", "release": "8.4", "repoid": "2a5fa54a8503f96d"})))
}

async fn resources(State(s): State<Arc<Shared>>, Extension(input): Extension<Input>) -> Response {
    let vms = input.query.get("type").is_none_or(|t| t == "vm");
    s.run(None, |c, _| Ok(if vms { c.list(true) } else { json!([]) }))
}

async fn node_vms(State(s): State<Arc<Shared>>, Path(node): Path<String>) -> Response {
    s.run(Some(&node), |c, _| Ok(c.list(false)))
}

async fn clone(State(s): State<Arc<Shared>>, Path((node, vmid)): VmPath, Extension(i): Extension<Input>) -> Response {
    s.run(Some(&node), |c, ctx| c.clone_vm(ctx, vmid, &i.form))
}

async fn config(State(s): State<Arc<Shared>>, Path((node, vmid)): VmPath) -> Response {
    s.run(Some(&node), |c, _| c.config(vmid))
}

async fn set_config(
    State(s): State<Arc<Shared>>,
    Path((node, vmid)): VmPath,
    Extension(i): Extension<Input>,
) -> Response {
    s.run(Some(&node), |c, _| c.set_config(vmid, &i.form))
}

async fn resize(State(s): State<Arc<Shared>>, Path((node, vmid)): VmPath, Extension(i): Extension<Input>) -> Response {
    s.run(Some(&node), |c, ctx| c.resize(ctx, vmid, &i.form))
}

async fn current(State(s): State<Arc<Shared>>, Path((node, vmid)): VmPath) -> Response {
    s.run(Some(&node), |c, _| c.current(vmid))
}

async fn power(State(s): State<Arc<Shared>>, Path((node, vmid, action)): Path<(String, u32, String)>) -> Response {
    s.run(Some(&node), |c, ctx| c.power(ctx, vmid, &action))
}

async fn destroy(State(s): State<Arc<Shared>>, Path((node, vmid)): VmPath) -> Response {
    s.run(Some(&node), |c, ctx| c.destroy(ctx, vmid))
}

async fn task(State(s): State<Arc<Shared>>, Path((node, upid)): Path<(String, String)>) -> Response {
    s.run(Some(&node), |c, _| c.task_status(&upid))
}

async fn task_log(State(s): State<Arc<Shared>>, Path((node, upid)): Path<(String, String)>) -> Response {
    s.run(Some(&node), |c, _| c.task_log(&upid))
}

async fn not_implemented(method: Method, uri: axum::http::Uri) -> Response {
    reply::refused(&PveError::new(501, format!("Method '{method} {}' not implemented", uri.path())))
}
