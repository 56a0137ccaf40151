//! Prometheus metrics on a separate, private listener (off unless `metrics.listen` is set),
//! so they are never exposed on the public site by accident.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio_util::sync::CancellationToken;

pub fn record_request(status: u16, elapsed: Duration) {
    let class = match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("http_requests_total", "status" => class).increment(1);
    metrics::histogram!("http_request_duration_seconds").record(elapsed.as_secs_f64());
}

/// Installs the recorder and serves `/metrics` on `addr` until `shutdown`.
pub async fn start(addr: SocketAddr, shutdown: CancellationToken) -> anyhow::Result<()> {
    let handle = PrometheusBuilder::new().install_recorder()?;
    let upkeep = handle.clone();
    let app = Router::new().route("/metrics", get(move || std::future::ready(handle.render())));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {addr}: {e}"))?;
    tracing::info!(%addr, "metrics listener started");
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => upkeep.run_upkeep(),
            }
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(())
}
