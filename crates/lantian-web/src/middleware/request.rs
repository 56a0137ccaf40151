//! Per-request context: the client's address (trusted-proxy aware), language and display
//! preferences; plus the request's access-log row, a debug line and metrics.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use http::header::{ACCEPT_LANGUAGE, COOKIE};
use ipnet::IpNet;

use crate::AppState;
use crate::middleware::access_log;
use crate::pages::preferences::Prefs;
use lantian_core::i18n::Lang;

/// What every handler and the error pages know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub client_ip: IpAddr,
    pub lang: Lang,
    pub prefs: Prefs,
}

pub async fn context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer =
        req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let client_ip = client_ip(peer, req.headers(), &state.web.trusted_proxies);
    let prefs = Prefs::from_cookie_header(
        req.headers().get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()),
        state.web.prefs_cookie,
    );
    let lang = prefs
        .lang
        .or_else(|| {
            req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language)
        })
        .unwrap_or_else(|| Lang::from_code(&state.core.config.i18n.default_locale).unwrap_or_default());
    req.extensions_mut().insert(RequestContext { client_ip, lang, prefs });
    let logged = if state.web.log_requests {
        access_log::start(&mut req, client_ip, state.core.clock.now(), started)
    } else {
        None
    };
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    if let Some(row) = logged {
        row.finish(status, &state.access_log).await;
    }
    let elapsed = started.elapsed();
    if status >= 500 {
        tracing::warn!(%method, %path, status, ms = elapsed.as_secs_f64() * 1e3, "request failed");
    } else {
        tracing::debug!(%method, %path, status, ms = elapsed.as_secs_f64() * 1e3, "request");
    }
    if state.web.metrics {
        crate::metrics::record_request(status, elapsed);
    }
    response
}

/// The socket's peer, unless the peer is a trusted proxy: then the right-most address in
/// X-Forwarded-For that is not itself a trusted proxy (the left part is client-controlled).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    hops.iter().rev().find(|ip| !is_trusted(ip)).or(hops.first()).copied().unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        // From a stranger the header is ignored.
        assert_eq!(client_ip(stranger, &xff("1.2.3.4"), &trusted), stranger);
        // From our proxy: the right-most untrusted hop, not the spoofable left-most one.
        assert_eq!(
            client_ip(proxy, &xff("6.6.6.6, 198.51.100.7, 10.0.0.2"), &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Garbage in the header falls back to the peer.
        assert_eq!(client_ip(proxy, &xff("not-an-ip"), &trusted), proxy);
    }
}
