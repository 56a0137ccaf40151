//! One database layer over SQLite and PostgreSQL.
//!
//! Each query is written once, in SQL both accept (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT ... DO UPDATE`), and run on the native pool through [`on_read!`] or
//! [`on_tx!`], whose arms are concrete (no generic-over-Database code). The rare dialect
//! difference is an explicit second string next to the first.

mod migrate;
pub mod schema;
mod sqlite;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres, Sqlite};

pub use migrate::{MigrationStatus, migrate, migration_status};
pub use sqlite::{InstanceLock, SqliteDb, path_of as sqlite_path};

use crate::config::DatabaseConfig;

#[derive(Clone)]
pub enum Db {
    Sqlite(SqliteDb),
    Pg(PgPool),
}

/// A write transaction. On SQLite it began `IMMEDIATE` on the single writer connection, so it
/// never fails half-way with SQLITE_BUSY on a read-to-write upgrade.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// Why the database could not be opened, in words for the operator.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot reach the database {target}: {source}")]
    Unreachable { target: String, source: sqlx::Error },
    #[error("{0}")]
    Locked(String),
    #[error("database: {0}")]
    Other(String),
}

/// Reads run through `on_read!` since start-up. A list page's reads must not grow with the data
/// it lists (no N+1); tests check that with this count.
static READS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A row refused by a unique constraint (on either backend): the caller lost a race or
/// repeated itself.
/// Rows per multi-row `INSERT`: few statements, and well under both databases' limits on bound
/// parameters (SQLite 32,766, PostgreSQL 65,535) at a dozen columns.
pub const ROWS_PER_INSERT: usize = 500;

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub fn reads_so_far() -> u64 {
    READS.load(std::sync::atomic::Ordering::Relaxed)
}

#[doc(hidden)]
pub fn count_read() {
    READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Runs `$body` with `$c` bound to a read connection pool of whichever backend `$db` is.
#[macro_export]
macro_rules! on_read {
    ($db:expr, $c:ident => $body:expr) => {{
        $crate::db::count_read();
        match $db {
            $crate::db::Db::Sqlite(s) => {
                let $c = &s.reader;
                $body
            }
            $crate::db::Db::Pg(p) => {
                let $c = p;
                $body
            }
        }
    }};
}

/// Runs `$body` with `$c` bound to the connection of the write transaction `$tx`.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::Pg(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// How an open is meant: `Exclusive` for `serve`, `worker` and `migrate` (SQLite allows one
/// such process), `Shared` for commands that only read or copy (`backup`, `config check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Exclusive,
    Shared,
}

impl Db {
    /// Opens the database named by `cfg.url`; does not migrate.
    pub async fn open(cfg: &DatabaseConfig, access: Access) -> Result<Db, OpenError> {
        let url = cfg.url.expose();
        if url.starts_with("sqlite:") {
            return sqlite::open(cfg, access).await.map(Db::Sqlite);
        }
        let opts: PgConnectOptions =
            url.parse().map_err(|e| OpenError::Other(format!("`database.url` is not a PostgreSQL URL: {e}")))?;
        let target =
            format!("postgres://{}:{}/{}", opts.get_host(), opts.get_port(), opts.get_database().unwrap_or(""));
        let opts = opts.log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(Duration::from_secs(cfg.connect_timeout_secs))
            .connect_with(opts)
            .await
            .map_err(|source| OpenError::Unreachable { target, source })?;
        Ok(Db::Pg(pool))
    }

    pub fn kind(&self) -> DbKind {
        match self {
            Db::Sqlite(_) => DbKind::Sqlite,
            Db::Pg(_) => DbKind::Postgres,
        }
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(s) => Tx::Sqlite(s.writer.begin_with("BEGIN IMMEDIATE").await?),
            Db::Pg(p) => Tx::Pg(p.begin().await?),
        })
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_read!(self, c => sqlx::query("SELECT 1").execute(c).await.map(|_| ()))
    }

    /// After an erasure: SQLite copies the WAL into the database file and empties it, so the
    /// deleted rows (overwritten by `secure_delete`) leave no copy in the log. PostgreSQL has
    /// nothing to do here.
    pub async fn checkpoint_after_erasure(&self) -> Result<(), sqlx::Error> {
        if let Db::Sqlite(s) = self {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&s.writer).await?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(s) => s.close().await,
            Db::Pg(p) => p.close().await,
        }
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Pg(t) => t.commit().await,
        }
    }

    pub fn kind(&self) -> DbKind {
        match self {
            Tx::Sqlite(_) => DbKind::Sqlite,
            Tx::Pg(_) => DbKind::Postgres,
        }
    }
}
