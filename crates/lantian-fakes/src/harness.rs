//! The pieces every fake shares: the clock, loopback binding and the handle
//! of a running server.

mod hang_up;

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use hang_up::{HangUp, serve_router_with_hang_up};

/// The application's clock in epoch milliseconds.
///
/// Fakes take the app's clock instead of reading the system time, so that
/// when a test moves time forward the fake's signed timestamps and expiry
/// checks move with it.
pub type NowMs = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The real wall clock, for the demo and for tests that do not move time.
pub fn system_now() -> NowMs {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            // A clock before 1970 is a broken machine; 0 keeps the fake alive.
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    })
}

/// Binds `127.0.0.1:port` (`0` picks a free port).
///
/// This is the only way fakes bind: they accept anything from anyone, so they
/// must never listen on an address reachable from another machine.
pub async fn bind_loopback(port: u16) -> io::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await
}

/// How long [`Running::shutdown`] waits for a server to finish gracefully
/// before aborting it, so a client holding a request open cannot hang a test.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A server task listening on a loopback address.
///
/// Dropping it cancels the server (without waiting); call
/// [`Running::shutdown`] to also wait until it has stopped.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Spawns `server`, which must return soon after `cancel` is cancelled.
    pub fn spawn<F>(addr: SocketAddr, cancel: CancellationToken, server: F) -> Running
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Running { addr, cancel, task: Some(tokio::spawn(server)) }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cancels the server and waits until it has stopped (aborting it if it
    /// takes longer than a few seconds).
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(addr = %self.addr, %err, "fake server task failed"),
                Err(_) => {
                    tracing::warn!(addr = %self.addr, "fake server did not stop in time; aborting");
                    task.abort();
                }
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Serves `router` on `127.0.0.1:port` (`0` picks a free port) until the
/// returned handle is shut down or dropped; in-flight requests finish first.
pub async fn serve_router(port: u16, router: axum::Router) -> io::Result<Running> {
    serve_listener(bind_loopback(port).await?, router)
}

/// Serves `router` on a listener from [`bind_loopback`], for fakes that must
/// know their own address (to put it in replies) before building the router.
pub fn serve_listener(listener: TcpListener, router: axum::Router) -> io::Result<Running> {
    let addr = listener.local_addr()?;
    let cancel = CancellationToken::new();
    let stop = cancel.clone().cancelled_owned();
    Ok(Running::spawn(addr, cancel, async move {
        if let Err(err) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
            tracing::warn!(%addr, %err, "fake HTTP server failed");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_loopback_only_and_serves_until_shutdown() {
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
        let running = serve_router(0, router).await.unwrap();
        let addr = running.addr();
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0);

        let body = reqwest::get(format!("http://{addr}/")).await.unwrap().text().await.unwrap();
        assert_eq!(body, "hi");

        running.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[test]
    fn system_clock_is_after_2024() {
        // 2024-01-01T00:00:00Z; catches a seconds/milliseconds mix-up.
        assert!(system_now()() > 1_704_067_200_000);
    }
}
