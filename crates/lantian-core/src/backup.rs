//! Consistent copies of an embedded (SQLite) database, taken while `serve` runs, and their
//! restoration. PostgreSQL is backed up with its own tools (`pg_dump`/`pg_restore`, README).

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::db::{InstanceLock, sqlite_path};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backup and restore of PostgreSQL use pg_dump and pg_restore (see the README); \
         these commands copy the embedded SQLite database"
    )]
    NotSqlite,
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn sqlite_file(url: &str) -> Result<std::path::PathBuf, BackupError> {
    if !url.starts_with("sqlite:") {
        return Err(BackupError::NotSqlite);
    }
    sqlite_path(url).map_err(|e| BackupError::Refused(e.to_string()))
}

/// Writes a consistent copy of the database to `dest` with `VACUUM INTO`. It reads through
/// its own connection, so it runs beside a live `serve` without stopping it.
pub async fn backup_sqlite(url: &str, dest: &Path) -> Result<(), BackupError> {
    let src = sqlite_file(url)?;
    if !src.is_file() {
        return Err(BackupError::Refused(format!("there is no database at {}", src.display())));
    }
    if dest.exists() {
        return Err(BackupError::Refused(format!("{} exists already; choose a new file name", dest.display())));
    }
    let mut conn = SqliteConnectOptions::new().filename(&src).read_only(true).connect().await?;
    sqlx::query("VACUUM INTO $1").bind(dest.to_string_lossy().into_owned()).execute(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Replaces the database with the backup at `src`, after checking that it is a sound Lantian
/// database. Refuses while any process has the database open for writing.
pub async fn restore_sqlite(url: &str, src: &Path) -> Result<(), BackupError> {
    let dest = sqlite_file(url)?;
    let _lock = InstanceLock::acquire(&dest)
        .map_err(|e| BackupError::Refused(format!("refusing to restore over a running database: {e}")))?;
    check_backup(src).await?;
    let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Copy beside the target, then rename: the database file is never half-written.
    let staging = dir.join(".restore-in-progress.db");
    std::fs::copy(src, &staging)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = dest.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    std::fs::rename(&staging, &dest)?;
    Ok(())
}

async fn check_backup(src: &Path) -> Result<(), BackupError> {
    if !src.is_file() {
        return Err(BackupError::Refused(format!("{} is not a file", src.display())));
    }
    let url = format!("sqlite://{}", src.display());
    let opts = SqliteConnectOptions::from_str(&url)?.read_only(true);
    let mut conn = opts
        .connect()
        .await
        .map_err(|e| BackupError::Refused(format!("{} is not a SQLite database: {e}", src.display())))?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| BackupError::Refused(format!("{} is not a SQLite database: {e}", src.display())))?;
    let ours: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('_sqlx_migrations', 'jobs')")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    if check != "ok" {
        return Err(BackupError::Refused(format!("{} is damaged: {check}", src.display())));
    }
    if ours != 2 {
        return Err(BackupError::Refused(format!("{} is not a Lantian database", src.display())));
    }
    Ok(())
}
