//! SQLite specifics: durable pragmas, one writer plus readers, one serving process per file.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, SqlitePool};

use super::{Access, OpenError};
use crate::config::DatabaseConfig;

#[derive(Clone)]
pub struct SqliteDb {
    /// Exactly one connection: SQLite has one writer anyway, and queueing in the pool is
    /// cheaper and fairer than spinning on SQLITE_BUSY.
    pub writer: SqlitePool,
    pub reader: SqlitePool,
    pub path: PathBuf,
    _lock: Option<Arc<InstanceLock>>,
}

/// An exclusive advisory lock on `<database>.lock`, held while a process may write.
/// A second `serve` on the same file finds it taken and stops with a clear message.
pub struct InstanceLock {
    _file: File,
    pub path: PathBuf,
}

impl InstanceLock {
    pub fn acquire(db_path: &Path) -> Result<InstanceLock, OpenError> {
        let path = lock_path(db_path);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| OpenError::Other(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(InstanceLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(OpenError::Locked(format!(
                "another Lantian process is already using {} (SQLite allows one `serve` or `worker` \
                 per database; stop it first, or use PostgreSQL to run several instances)",
                db_path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(OpenError::Other(format!("cannot lock {}: {e}", path.display()))),
        }
    }

    /// True when some process holds the lock on this database now.
    pub fn is_held(db_path: &Path) -> bool {
        matches!(Self::acquire(db_path), Err(OpenError::Locked(_)))
    }
}

fn lock_path(db_path: &Path) -> PathBuf {
    let mut s = db_path.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// The file path of a `sqlite://PATH` URL.
pub fn path_of(url: &str) -> Result<PathBuf, OpenError> {
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| OpenError::Other(format!("`database.url` is not a SQLite URL: {e}")))?;
    let path = opts.get_filename().to_path_buf();
    if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
        return Err(OpenError::Other(
            "`database.url`: an in-memory SQLite database cannot be shared by the writer and the readers; name a file"
                .into(),
        ));
    }
    Ok(path)
}

pub(super) async fn open(cfg: &DatabaseConfig, access: Access) -> Result<SqliteDb, OpenError> {
    let path = path_of(cfg.url.expose())?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| OpenError::Other(format!("cannot create {}: {e}", dir.display())))?;
    }
    let lock = match access {
        Access::Exclusive => Some(Arc::new(InstanceLock::acquire(&path)?)),
        Access::Shared => None,
    };
    let base = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(access == Access::Exclusive)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: an acknowledged payment must survive a power cut.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_millis(cfg.busy_timeout_ms))
        .foreign_keys(true)
        // Deleted personal data is overwritten, not left in free pages.
        .pragma("secure_delete", "ON")
        .log_statements(tracing::log::LevelFilter::Trace);
    let target = format!("sqlite://{}", path.display());
    let unreachable = |source| OpenError::Unreachable { target: target.clone(), source };
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(cfg.connect_timeout_secs.max(30)))
        .connect_with(base.clone())
        .await
        .map_err(unreachable)?;
    let reader = SqlitePoolOptions::new()
        .max_connections(cfg.max_connections)
        .acquire_timeout(Duration::from_secs(cfg.connect_timeout_secs.max(30)))
        .connect_with(base.read_only(true))
        .await
        .map_err(unreachable)?;
    Ok(SqliteDb { writer, reader, path, _lock: lock })
}

impl SqliteDb {
    pub(super) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
