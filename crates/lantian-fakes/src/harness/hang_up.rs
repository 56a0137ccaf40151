//! HTTP serving where a handler can hang up instead of answering, as a
//! crashed server or a broken network would.
//!
//! hyper always writes the response a handler returns, so sending nothing
//! has to happen below HTTP: every accepted socket is wrapped so that, once a
//! handler has pulled the connection's [`HangUp`] switch, writes fail; hyper
//! then abandons the connection and the socket closes with no byte of the
//! response sent.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::{Running, bind_loopback};

/// The hang-up switch of the connection a request arrived on. Handlers of a
/// router served by [`serve_router_with_hang_up`] take it with
/// `ConnectInfo<HangUp>`.
#[derive(Debug, Clone, Default)]
pub struct HangUp(Arc<AtomicBool>);

impl HangUp {
    /// Closes the connection instead of sending the response the handler
    /// returns. The client sees the connection end with no reply at all.
    pub fn hang_up(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_hung_up(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Like [`super::serve_router`], but every request can hang up on its
/// client through the [`HangUp`] connect info.
pub async fn serve_router_with_hang_up(port: u16, router: axum::Router) -> io::Result<Running> {
    let listener = bind_loopback(port).await?;
    let addr = listener.local_addr()?;
    let cancel = CancellationToken::new();
    let stop = cancel.clone().cancelled_owned();
    let service = router.into_make_service_with_connect_info::<HangUp>();
    Ok(Running::spawn(addr, cancel, async move {
        if let Err(err) = axum::serve(HangUpListener(listener), service).with_graceful_shutdown(stop).await {
            tracing::warn!(%addr, %err, "fake HTTP server failed");
        }
    }))
}

/// A TCP listener whose connections carry a [`HangUp`] switch.
pub(crate) struct HangUpListener(TcpListener);

impl Listener for HangUpListener {
    type Io = HangUpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (HangUpStream, SocketAddr) {
        // axum's own TCP accept, which already backs off on errors.
        let (stream, addr) = Listener::accept(&mut self.0).await;
        (HangUpStream { stream, switch: HangUp::default() }, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, HangUpListener>> for HangUp {
    fn connect_info(incoming: IncomingStream<'_, HangUpListener>) -> HangUp {
        incoming.io().switch.clone()
    }
}

/// A TCP stream that refuses to write once its switch is pulled.
pub(crate) struct HangUpStream {
    stream: TcpStream,
    switch: HangUp,
}

impl AsyncRead for HangUpStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for HangUpStream {
    // The vectored write is left to its default, which goes through here.
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.switch.is_hung_up() {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionAborted, "the fake hung up")));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::ConnectInfo;
    use axum::routing::get;

    use super::*;

    #[tokio::test]
    async fn hung_up_requests_get_no_response() {
        let router = axum::Router::new().route(
            "/{what}",
            get(|ConnectInfo(conn): ConnectInfo<HangUp>, axum::extract::Path(what): axum::extract::Path<String>| async move {
                if what == "drop" {
                    conn.hang_up();
                }
                what
            }),
        );
        let running = serve_router_with_hang_up(0, router).await.unwrap();
        let base = format!("http://{}", running.addr());
        let client = reqwest::Client::new();

        assert_eq!(client.get(format!("{base}/fine")).send().await.unwrap().text().await.unwrap(), "fine");
        let err = client.get(format!("{base}/drop")).send().await.unwrap_err();
        assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
        // Only that connection was hung up on.
        assert_eq!(client.get(format!("{base}/again")).send().await.unwrap().text().await.unwrap(), "again");
        running.shutdown().await;
    }
}
