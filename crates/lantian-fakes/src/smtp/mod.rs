//! An SMTP server fake that records every message it accepts and shows them
//! on a small web page, the demo's "mailbox".
//!
//! It speaks the subset of RFC 5321 that real submission clients (lettre 0.11
//! and the like) use: EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET,
//! NOOP, VRFY and QUIT, with pipelining. It is **plain text on loopback
//! only**: there is no STARTTLS, so clients must be configured without TLS
//! when pointed at it. [`SmtpFaults`] makes it refuse, drop or slow down
//! deliveries so retry paths can be tested.

mod conn;
mod faults;
mod mailbox_page;
mod session;
mod store;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::harness::{self, NowMs, Running};

pub use faults::SmtpFaults;
use store::Mailbox;
pub use store::ReceivedMessage;

/// How the fake is started.
#[derive(Clone)]
pub struct SmtpFakeOptions {
    /// SMTP port on 127.0.0.1; `0` picks a free port.
    pub smtp_port: u16,
    /// Mailbox web page port on 127.0.0.1 (`Some(0)` picks a free port);
    /// `None` serves no page.
    pub web_port: Option<u16>,
    /// The application's clock, stamped on received messages.
    pub now: NowMs,
    /// `(username, password)`: when set, AUTH is advertised and required
    /// before MAIL FROM.
    pub credentials: Option<(String, String)>,
    /// How many of the newest messages are kept in memory; older ones are
    /// forgotten but still counted by [`SmtpFake::received_count`].
    pub keep_last: usize,
}

impl Default for SmtpFakeOptions {
    fn default() -> Self {
        SmtpFakeOptions {
            smtp_port: 0,
            web_port: Some(0),
            now: harness::system_now(),
            credentials: None,
            keep_last: 500,
        }
    }
}

/// State shared by the SMTP sessions, the web page and the [`SmtpFake`] handle.
struct Shared {
    mailbox: Mutex<Mailbox>,
    faults: SmtpFaults,
    now: NowMs,
    credentials: Option<(String, String)>,
}

impl Shared {
    fn mailbox(&self) -> MutexGuard<'_, Mailbox> {
        // A panic while holding the lock cannot leave the mailbox
        // half-updated in a way that matters to a fake; keep serving.
        self.mailbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running SMTP fake. Dropping it stops the servers.
pub struct SmtpFake {
    shared: Arc<Shared>,
    smtp: Running,
    web: Option<Running>,
}

impl SmtpFake {
    /// Binds the SMTP port (and the web port if asked) on 127.0.0.1 and
    /// starts serving.
    pub async fn start(opts: SmtpFakeOptions) -> anyhow::Result<SmtpFake> {
        let shared = Arc::new(Shared {
            mailbox: Mutex::new(Mailbox::new(opts.keep_last)),
            faults: SmtpFaults::default(),
            now: opts.now,
            credentials: opts.credentials,
        });

        let listener = harness::bind_loopback(opts.smtp_port).await?;
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let smtp = Running::spawn(addr, cancel.clone(), accept_loop(listener, Arc::clone(&shared), cancel));

        let web = match opts.web_port {
            Some(port) => {
                let router = mailbox_page::router(Arc::clone(&shared));
                Some(harness::serve_router(port, router).await?)
            }
            None => None,
        };
        tracing::info!(smtp = %addr, web = ?web.as_ref().map(Running::addr), "SMTP fake started");
        Ok(SmtpFake { shared, smtp, web })
    }

    /// Where SMTP clients connect.
    pub fn smtp_addr(&self) -> SocketAddr {
        self.smtp.addr()
    }

    /// Where the mailbox page is served, if it was asked for.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web.as_ref().map(Running::addr)
    }

    /// The kept messages, oldest first (newest last).
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.shared.mailbox().messages()
    }

    /// Messages accepted since start, including ones no longer kept or
    /// cleared.
    pub fn received_count(&self) -> u64 {
        self.shared.mailbox().received_count()
    }

    /// The fault switches; they can be flipped at any time.
    pub fn faults(&self) -> &SmtpFaults {
        &self.shared.faults
    }

    /// Forgets the kept messages. Ids and [`SmtpFake::received_count`] keep
    /// counting, so a message id is never reused.
    pub fn clear(&self) {
        self.shared.mailbox().clear();
    }

    /// Stops both servers and waits until they have stopped; open SMTP
    /// connections are closed.
    pub async fn shutdown(self) {
        self.smtp.shutdown().await;
        if let Some(web) = self.web {
            web.shutdown().await;
        }
    }
}

/// Accepts connections until cancelled, one task per connection.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, cancel: CancellationToken) {
    // The JoinSet owns the sessions: leaving this function (on cancel) drops
    // it, which aborts every open connection.
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    sessions.spawn(session::run(stream, Arc::clone(&shared)));
                }
                Err(err) => {
                    // Usually out of file descriptors; back off instead of spinning.
                    tracing::warn!(%err, "SMTP fake accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            // Reap finished sessions so the set does not grow forever.
            Some(done) = sessions.join_next(), if !sessions.is_empty() => {
                if let Err(err) = done {
                    tracing::warn!(%err, "SMTP fake session task failed");
                }
            }
        }
    }
}
