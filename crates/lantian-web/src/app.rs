//! Building the application: state, router, middleware stack, listener.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use http::{HeaderName, HeaderValue};
use ipnet::IpNet;
use lantian_core::Core;
use lantian_core::accesslog::AccessLogHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

use crate::middleware::{csrf, errors, request, security};
use crate::{api, assets, pages, server, tls};

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub web: Arc<WebSettings>,
    /// Where every request's access-log row goes (the writer task lives beside the server).
    pub access_log: AccessLogHandle,
}

/// Settings the web layer derives once at start-up, so no request re-parses them.
#[derive(Clone)]
pub struct WebSettings {
    /// The site's own origin (scheme://host[:port]) for the CSRF Origin check.
    pub origin: String,
    pub trusted_proxies: Vec<IpNet>,
    pub https: bool,
    /// `__Host-` names need HTTPS; on plain HTTP (the demo on localhost) the bare name.
    pub prefs_cookie: &'static str,
    pub session_cookie: &'static str,
    pub remember_cookie: &'static str,
    pub security_headers: Vec<(HeaderName, HeaderValue)>,
    pub metrics: bool,
    /// Every request is written to the access log (C1.7); false only in the benchmark's
    /// comparison, [`router_without_access_log`].
    pub log_requests: bool,
}

impl AppState {
    /// `access_log` comes from `AccessLogWriter::start`, whose task the caller awaits at
    /// shutdown (after `close`), so that every row is written.
    pub fn new(core: Core, metrics: bool, access_log: AccessLogHandle) -> AppState {
        let cfg = &core.config;
        let https = cfg.is_https();
        let web = WebSettings {
            origin: cfg.server.public_url.clone(),
            trusted_proxies: cfg.server.trusted_proxies.clone(),
            https,
            prefs_cookie: if https { "__Host-lantian_prefs" } else { "lantian_prefs" },
            session_cookie: if https { "__Host-lantian_session" } else { "lantian_session" },
            remember_cookie: if https { "__Host-lantian_remember" } else { "lantian_remember" },
            security_headers: security::headers(https),
            metrics,
            log_requests: true,
        };
        AppState { core, web: Arc::new(web), access_log }
    }
}

/// The same application with nothing written to the access log. Only for the benchmark that
/// measures what logging costs per request (`benches/access_log.rs`); never served.
pub fn router_without_access_log(state: AppState) -> Router {
    let web = WebSettings { log_requests: false, ..(*state.web).clone() };
    router(AppState { web: Arc::new(web), ..state })
}

pub fn router(state: AppState) -> Router {
    let cfg = &state.core.config.server;
    let body_limit = cfg.body_limit_bytes;
    let timeout = Duration::from_secs(cfg.request_timeout_secs);
    Router::new()
        .merge(pages::routes())
        .route("/preferences", post(pages::preferences::update))
        .route("/healthz", get(pages::health::healthz))
        .route("/readyz", get(pages::health::readyz))
        .route("/static/{*path}", get(assets::serve))
        .nest("/api/v1", api::v1::routes())
        .fallback(errors::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit))
        // Uploads carry a document, far over the limit of every other body: they have their own.
        .merge(uploads())
        // The last layer added sees the request first. Every error response from the layers
        // inside `render_error_pages` (CSRF, limits, time-out, panic) becomes a page or a
        // problem document in the client's language.
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::remember_me))
        .layer(axum::middleware::from_fn_with_state(state.clone(), csrf::check_origin))
        .layer(TimeoutLayer::with_status_code(http::StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(CatchPanicLayer::custom(errors::panic_response))
        .layer(axum::middleware::from_fn(errors::render_error_pages))
        // Outside everything that makes a response, so that every response, error pages
        // included, is logged in its final form (the access log is written from here).
        .layer(axum::middleware::from_fn_with_state(state.clone(), request::context))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::set_headers))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}

/// The routes that receive a guardian's consent document, limited to its size.
fn uploads() -> Router<AppState> {
    let limit = lantian_core::kyc::guardian::MAX_DOCUMENT_BYTES + 64 * 1024;
    pages::real_name::upload_routes()
        .nest("/api/v1", api::v1::upload_routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
}

/// A bound, not yet serving application. Tests bind `127.0.0.1:0` and read the port.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Application {
    pub async fn build(
        state: AppState,
        listen: SocketAddr,
        tls: Option<(PathBuf, PathBuf)>,
    ) -> anyhow::Result<Application> {
        let tls = match tls {
            Some((cert, key)) => Some(tls::acceptor(&cert, &key)?),
            None => None,
        };
        let listener =
            TcpListener::bind(listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        Ok(Application { listener, state, tls })
    }

    /// On a listener bound before the state was made: the site's own address (for the payment
    /// gateway's callback URLs) is then known when the core is built.
    pub fn on_listener(state: AppState, listener: TcpListener) -> Application {
        Application { listener, state, tls: None }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` fires, then lets open requests finish.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let app = router(self.state);
        server::serve(self.listener, app, self.tls, shutdown).await
    }
}
