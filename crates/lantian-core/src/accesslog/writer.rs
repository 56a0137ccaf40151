//! The batching writer. A request's row goes into a bounded channel; one task writes the rows
//! in batches of up to 500 in one transaction, at the latest `logs.write_window_ms` (10 ms)
//! after the first row of the batch arrived. One commit per batch instead of one per request is what makes logging every
//! request (even `/healthz`) affordable on SQLite's single writer with `synchronous=FULL`.
//!
//! When the channel is full, `record` waits: the request is slowed down rather than its row
//! lost (ARCHITECTURE §10). `close` makes the task write everything queued and end; `serve`
//! awaits it after the server stopped.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Entry, Month, ensure_partitions, repo};
use crate::Core;

const MAX_BATCH: usize = 500;
/// After `close`, a failing database is retried this often before the rest is given up, so
/// that shutdown cannot hang on it.
const ATTEMPTS_WHEN_CLOSING: u32 = 3;

enum Msg {
    Row(Entry),
    /// Answered once every row sent before it is written.
    Flush(oneshot::Sender<()>),
    Close,
}

/// The requests' side of the writer: cheap to clone, one per `AppState`.
#[derive(Clone)]
pub struct AccessLogHandle {
    tx: mpsc::Sender<Msg>,
}

impl AccessLogHandle {
    /// Queues a row. Waits while the queue is full (back-pressure); never drops the row. Only
    /// after `close` (shutdown) is a row refused, with a warning.
    pub async fn record(&self, entry: Entry) {
        if self.tx.send(Msg::Row(entry)).await.is_err() {
            tracing::warn!("access log already closed: a request was not logged");
        }
    }

    /// Waits until every row queued before this call is in the database.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Stops taking rows; the writer task writes what is queued, then ends.
    pub async fn close(&self) {
        let _ = self.tx.send(Msg::Close).await;
    }
}

pub struct AccessLogWriter {
    core: Core,
    rx: mpsc::Receiver<Msg>,
    batch: Vec<Entry>,
    /// How long the first row of a batch waits for others.
    window: Duration,
    /// The month whose partitions this writer made sure of (PostgreSQL).
    month: Option<Month>,
    closing: bool,
}

impl AccessLogWriter {
    /// Starts the writer task. Up to `logs.queue_capacity` rows wait for it before requests do.
    /// The task ends after `close` (or when every handle is gone), once all is written.
    pub fn start(core: Core) -> (AccessLogHandle, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(core.config.logs.queue_capacity.max(1));
        let window = Duration::from_millis(core.config.logs.write_window_ms);
        let writer =
            AccessLogWriter { core, rx, batch: Vec::with_capacity(MAX_BATCH), window, month: None, closing: false };
        (AccessLogHandle { tx }, tokio::spawn(writer.run()))
    }

    /// Takes whatever is queued in one go (`recv_many`: one wake-up for many rows under load)
    /// and keeps one timer for the batch's deadline, armed when a batch starts, rather than a
    /// new time-out per row received (callgrind, `benches/access_log.rs`).
    async fn run(mut self) {
        let mut msgs = Vec::with_capacity(MAX_BATCH);
        let deadline = tokio::time::sleep(self.window);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                n = self.rx.recv_many(&mut msgs, MAX_BATCH) => {
                    if n == 0 {
                        break;
                    }
                    for msg in msgs.drain(..) {
                        match msg {
                            Msg::Row(entry) => {
                                if self.batch.is_empty() {
                                    deadline.as_mut().reset(Instant::now() + self.window);
                                }
                                self.batch.push(entry);
                                if self.batch.len() >= MAX_BATCH {
                                    self.write().await;
                                }
                            }
                            Msg::Flush(done) => {
                                self.write().await;
                                let _ = done.send(());
                            }
                            // Senders now fail; what is buffered is still received, then 0.
                            Msg::Close => {
                                self.closing = true;
                                self.rx.close();
                            }
                        }
                    }
                }
                // The deadline is the gathering batch's: set when its first row came.
                () = &mut deadline, if !self.batch.is_empty() => {
                    self.write().await;
                }
            }
        }
        self.write().await;
    }

    /// Writes the batch; on an outage retries with back-off (requests queue up behind it).
    async fn write(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let now = self.core.now();
        if self.month != Some(Month::of(now)) {
            // Before the month's first row: a row without its partition goes to DEFAULT.
            if let Err(e) = ensure_partitions(&self.core.db, now).await {
                tracing::warn!(error = %e, "access log partitions not checked");
            }
            self.month = Some(Month::of(now));
        }
        let mut wait = Duration::from_millis(50);
        let mut attempts = 0;
        loop {
            attempts += 1;
            match repo::insert(&self.core.db, &self.batch).await {
                Ok(()) => break,
                // The database refused the rows themselves (a bug, not an outage): retrying
                // cannot help and would hold up every request behind them.
                Err(sqlx::Error::Database(e)) if e.kind() != sqlx::error::ErrorKind::Other => {
                    tracing::error!(rows = self.batch.len(), error = %e, "access log rows refused by the database");
                    break;
                }
                Err(e) if self.closing && attempts >= ATTEMPTS_WHEN_CLOSING => {
                    tracing::error!(rows = self.batch.len(), error = %e, "access log rows lost at shutdown");
                    break;
                }
                Err(e) => {
                    tracing::warn!(rows = self.batch.len(), error = %e, "access log write failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.batch.clear();
    }
}
